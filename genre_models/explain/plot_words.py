"""Which words of a plot push a genre up or down: occlusion through the model's own prediction path.

Each word the model reads is removed in turn and the plot scored again; a word's score is how much
the genre's probability falls without it (negative: the genre is *more* likely without it). The
perturbed plots go through ``predict_batch``, the same path the app answers with (trained head,
fine-tuned backbone, zero-shot prompts alike), so the explanation is of the prediction the user saw,
and whole words come out directly (no merging of word pieces). Words past the model's token limit
are not read, so they score 0 and are marked; a model without one (TF-IDF) reads every word. Apart
from that, the explanation itself stops after ``max_words`` words (one pass each): the notes tell
the two apart, so nobody reads a cost limit of the explanation as a limit of the model.

Cost: one extra forward pass per word read, batched; numbers in docs/benchmarks.md.
"""
from __future__ import annotations

import time
import unicodedata
from dataclasses import asdict, dataclass, field

from ..data.inputs import clean_plot
from ..errors import InvalidInputError, PlanError
from ..models.predictors import GenrePredictor
from .target import answer_and_genre

METHOD = "occlusion: each word removed in turn; score = the genre's probability with it minus without it"


@dataclass
class WordAttribution:
    """One plot model's reading of one plot for one genre, word by word."""

    model_key: str
    genre: str
    probability: float
    mode: str
    words: list[tuple[str, float]]  # (word, score) in plot order; 0 for a word unread or unexplained
    read: int  # the first ``read`` words are within the model's token limit (all of them without one)
    explained: int = -1  # the first ``explained`` words were scored (at most ``read``); -1: as many as read
    method: str = METHOD
    random_weights: bool = False
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def __post_init__(self):
        if self.explained < 0:
            self.explained = self.read

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        """The k words that raise the genre most."""
        return sorted(self.words[:self.explained], key=lambda ws: -ws[1])[:k]

    def highlighted(self) -> list[tuple[str, float | None]]:
        """For ``gr.HighlightedText``: each word with its score scaled to [-1, 1] (None: not read, or not
        explained).

        Punctuation around a word is shown unshaded beside it ("lair." -> "lair" shaded, "." not): the
        score is the word's, and a shaded full stop would read as if the stop mattered.
        """
        peak = max((abs(s) for _, s in self.words[:self.explained]), default=0.0) or 1.0
        spans: list[tuple[str, float | None]] = []
        for i, (token, score) in enumerate(self.words):
            lead, core, trail = _split_punctuation(token)
            value = round(score / peak, 3) if i < self.explained else None
            spans += [(lead, None)] if lead else []
            spans.append((core, value))
            spans.append((trail + " ", None))
        return spans

    def to_dict(self) -> dict:
        return asdict(self)


def _split_punctuation(token: str) -> tuple[str, str, str]:
    """(leading punctuation, the word, trailing punctuation); a token of punctuation only is all word."""
    start, end = 0, len(token)
    while start < end and unicodedata.category(token[start]).startswith("P"):
        start += 1
    while end > start and unicodedata.category(token[end - 1]).startswith("P"):
        end -= 1
    return (token[:start], token[start:end], token[end:]) if start < end else ("", token, "")


def explain_plot(predictor: GenrePredictor, plot: str, genre: str | None = None, mode: str = "auto",
                 max_words: int = 400) -> WordAttribution:
    """Word scores for ``genre`` (default: the model's most probable genre) on ``plot``.

    Raises InvalidInputError (no plot, a genre the model does not score, a model that does not read
    plots) and whatever makes the model unable to answer (as a PlanError carrying its message).
    """
    if not predictor.spec.needs_plot or predictor.spec.needs_poster:
        raise InvalidInputError(f"{predictor.name} does not read plots on their own: word attribution is for "
                                "plot models")
    text = clean_plot(plot).text
    if text is None:
        raise InvalidInputError("give a plot to explain")
    started = time.perf_counter()
    base, genre = answer_and_genre(predictor, genre, mode, plot=text)
    words = text.split()
    read = predictor.words_read(words)  # the model's own limit: every word for TF-IDF
    explained = min(read, max_words)  # the explanation's limit: one pass per word costs
    notes = []
    if read < len(words):
        notes.append(f"the model reads the first {read} of {len(words)} words (its token limit); the rest "
                     "do not change its answer and score 0")
    if explained < read:
        notes.append(f"only the first {explained} of the {read} words the model reads were explained (one "
                     f"pass per word; explanations stop at {max_words}); the words after them are read by the "
                     "model but not scored here")
    # the same mode the answer came from ("auto" could resolve differently on a shorter plot)
    fixed_mode = base.mode if base.mode in ("trained", "zero-shot") else mode
    variants = [" ".join(words[:i] + words[i + 1:]) for i in range(explained)]
    scored = predictor.predict_batch([None] * len(variants), variants, genres=[genre], mode=fixed_mode,
                                     prior_when_unread=True)
    failed = next((p for p in scored if not p.ok), None)
    if failed is not None:
        raise PlanError(failed.message, summary=failed.summary, fix=failed.fix)
    full = base.probabilities[genre]
    scores = [full - p.probabilities[genre] for p in scored] + [0.0] * (len(words) - explained)
    if predictor.random_weights:
        notes.append("random weights (test/development model): the scores explain nothing real")
    return WordAttribution(predictor.key, genre, full, base.mode, list(zip(words, scores)), read, explained=explained,
                           random_weights=predictor.random_weights, seconds=time.perf_counter() - started,
                           notes=notes)
