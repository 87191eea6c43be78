"""What every model answers: one :class:`Prediction` per (model, poster, plot)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum


class Status(str, Enum):
    """Why a model did or did not answer. ``str`` so it serialises to JSON as its value."""

    OK = "ok"
    UNAVAILABLE = "unavailable"  # weights missing or failed to load; message says how to fix
    MISSING_INPUT = "missing_input"  # e.g. a poster model asked without a poster
    INVALID_INPUT = "invalid_input"  # e.g. the poster is not an image
    ERROR = "error"  # anything unexpected, reported without a stack trace
    # the input held nothing the model knows (not one of the plot's words in its vocabulary): it has no
    # reading of this film, only what it says for every such plot, so it gives no probabilities
    NOTHING_READ = "nothing_read"


@dataclass
class Prediction:
    """One model's reading of one film.

    ``probabilities`` are independent per genre (multi-label, never a softmax across genres);
    ``predicted`` are the genres at or above their threshold, most confident first.
    """

    model_key: str
    status: Status
    message: str = ""
    probabilities: dict[str, float] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    predicted: list[str] = field(default_factory=list)
    mode: str = ""  # "trained", "zero-shot", or a late fusion's description ("late fusion (zero-shot poster, ...)")
    latency_ms: float = 0.0
    plot_truncated: bool = False
    summary: str = ""  # when not ok: the reason in a few words (``message`` has the whole story)
    fix: str = ""  # when not ok: the command that fixes it, if there is one
    method: str = ""  # how a zero-shot answer reached genres when not by prompt similarity ("ConSE, ...")

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    def top(self, k: int) -> list[tuple[str, float]]:
        """The k most probable genres, highest first."""
        return sorted(self.probabilities.items(), key=lambda kv: -kv[1])[:k]

    def to_dict(self) -> dict:
        out = asdict(self)
        out["status"] = self.status.value
        return out

    @classmethod
    def from_probabilities(
        cls,
        model_key: str,
        probabilities: dict[str, float],
        thresholds: dict[str, float],
        **kwargs,
    ) -> "Prediction":
        """Build an OK prediction, deciding each genre against its own threshold."""
        predicted = [g for g, p in sorted(probabilities.items(), key=lambda kv: -kv[1])
                     if p >= thresholds[g]]
        return cls(model_key=model_key, status=Status.OK, probabilities=probabilities,
                   thresholds=thresholds, predicted=predicted, **kwargs)

    @classmethod
    def failed(cls, model_key: str, status: Status, message: str, **kwargs) -> "Prediction":
        return cls(model_key=model_key, status=status, message=message, **kwargs)
