"""One predictor interface for every model: ``predict(poster, plot) -> Prediction``, never raising.

Every answer, for one film in the app or for a test split in ``evaluate``, goes through the same
four steps, so what is evaluated is what the app shows:

1. ``plan(genres, mode, threshold)``: which mode answers (trained head, zero-shot, late fusion),
   which genres, and each genre's decision threshold;
2. ``feature_requests(plan)``: which backbone features that needs (model, modality, fine-tuned or not);
3. features: from the encoders here (``predict_batch``) or from the on-disk feature cache (training
   and evaluation, ``training/feature_cache.py``);
4. ``score(plan, features)``: probabilities, then decisions against the plan's thresholds.

A predictor is created cheaply from its spec and loads its backbone (and trained head, if one is in
its checkpoint folder) lazily, once, under a lock, so concurrent requests share one copy.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ...commands import command
from ...data.inputs import FilmInput, PosterInput, check_threshold, read_film
from ...errors import (CheckpointError, FixableError, GenreLensError, InvalidInputError, PlanError,
                       WeightsUnavailableError)
from ...files import disk_full_message, is_disk_full
from ...genres import GENRES
from ..checkpoint import HeadCheckpoint, has_checkpoint, load_checkpoint
from ..families.base import POSTER, Encoder, default_device
from ..lineup import HEAD_TRAINING_COST
from ..prediction import Prediction, Status
from ..registry import PROJECT_ROOT, ModelSpec

log = logging.getLogger(__name__)

ZERO_SHOT_THRESHOLD = 0.5
MODES = ("auto", "trained", "zero-shot")
TRAINED, ZERO_SHOT = "trained", "zero-shot"


@dataclass
class Plan:
    """How a request will be answered.

    ``mode`` is ``trained``, ``zero-shot``, or a late-fusion description; ``thresholds`` hold one
    threshold per genre; ``parts`` the plans of a late-fusion model's two parts.
    """

    mode: str
    genres: list[str]
    thresholds: dict[str, float]
    parts: dict[str, "Plan"] = field(default_factory=dict)

    def threshold_vector(self) -> np.ndarray:
        """Thresholds in genre order, float64 as in ``thresholds`` (decisions at the same values)."""
        return np.array([self.thresholds[g] for g in self.genres], dtype=np.float64)


@dataclass(frozen=True)
class FeatureRequest:
    """Features a plan needs: ``predictor``'s backbone on ``modality``; ``trained`` = the checkpoint's
    fine-tuned backbone when it has one (else the same features as the base backbone)."""

    predictor: "GenrePredictor"
    modality: str
    trained: bool

    @property
    def key(self) -> tuple[str, str, bool]:
        return (self.predictor.key, self.modality, self.trained)


Features = dict[tuple[str, str, bool], torch.Tensor]


@dataclass
class _Film:
    """One film's inputs after validation; ``failure`` is set when it cannot be scored."""

    poster: object = None
    plot: str | None = None
    failure: Prediction | None = None


class GenrePredictor:
    """Base class: input validation, lazy loading, planning, batching and the error contract."""

    @classmethod
    def create(cls, spec: ModelSpec, pool, device: torch.device | None) -> "GenrePredictor":
        """The predictor for ``spec``; ``pool`` gives the parts of a composed model (``ModelPool.get``)."""
        return cls(spec, device)

    def __init__(self, spec: ModelSpec, device: torch.device | None = None):
        self.spec = spec
        self.device = device or default_device()
        self._lock = threading.RLock()
        self._loaded = False
        self._load_error: WeightsUnavailableError | None = None
        self.checkpoint: HeadCheckpoint | None = None
        self.head_error: str | None = None
        self.head_dir: Path | None = None  # where the trained model was read from (local or a hub copy)

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def settled(self) -> bool:
        """Loaded, or known not to load: either way a request no longer waits on loading it."""
        return self._loaded or self._load_error is not None

    @property
    def random_weights(self) -> bool:
        return False

    @property
    def zero_shot_method(self) -> str:
        """How zero-shot reaches genres when it is not prompt similarity (ConSE), for the card and chart."""
        return ""

    # -- loading -------------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Everything a first request would otherwise wait on (the app calls it in the background)."""
        self.load()

    def prepare(self) -> None:
        """What a first request would wait on besides loading and the model's own forward pass (ConSE's
        class names, embedded on the CPU): a ZeroGPU Space does it at start, outside any GPU call."""

    def load(self) -> None:
        """Load weights once; later calls return at once. Raises WeightsUnavailableError.

        Any failure, whatever its type, becomes a WeightsUnavailableError naming the model (logged
        with its traceback when it is not one of ours), and is remembered: no retry per request.
        """
        with self._lock:
            if self._loaded:
                return
            if self._load_error is not None:
                error = self._load_error
                raise WeightsUnavailableError(str(error), error.summary, error.fix)
            try:
                self._load()
            except WeightsUnavailableError as exc:
                self._load_error = exc
                raise
            except Exception as exc:
                if not isinstance(exc, GenreLensError):
                    log.exception("%s: loading failed", self.key)
                self._load_error = WeightsUnavailableError(f"{self.name} could not be loaded: {describe(exc)}",
                                                           summary=f"could not be loaded ({describe(exc)})")
                raise self._load_error from exc
            self._loaded = True

    def _load(self) -> None:
        raise NotImplementedError

    def head_folder(self) -> Path | None:
        """The local folder of this model's trained model (its checkpoint folder, or the copy fetched
        from a heads repo: :mod:`..hub`); None when there is none. A heads repo that cannot be
        read is remembered in ``head_error`` (the card says why) and counts as none."""
        try:
            self.head_dir = self.spec.head_folder()
        except CheckpointError as exc:
            self.head_dir, self.head_error = None, str(exc)
            log.warning("%s: %s", self.key, exc)
        return self.head_dir

    def _load_head(self, embedding_dim: int, backbone: dict) -> None:
        directory = self.head_folder()
        if not has_checkpoint(directory):
            return
        try:
            self.checkpoint = load_checkpoint(directory, embedding_dim=embedding_dim, backbone=backbone)
        except GenreLensError as exc:
            self.head_error = str(exc)
            log.warning("%s: trained head not loaded: %s", self.key, exc)

    # -- planning ------------------------------------------------------------------------------
    @property
    def trained_genres(self) -> tuple[str, ...]:
        return self.checkpoint.genres if self.checkpoint else ()

    def plan(self, genres: Sequence[str] | None = None, mode: str = "auto",
             threshold: float | None = None) -> Plan:
        """Decide how to answer (the model must be loaded). Raises PlanError or InvalidInputError."""
        if mode not in MODES:
            raise InvalidInputError(f"unknown mode {mode!r}; valid: {', '.join(MODES)}")
        wanted = list(genres) if genres else list(self.trained_genres or GENRES)
        head_fits = self.checkpoint is not None and set(wanted) <= set(self.trained_genres)
        if mode == TRAINED or (mode == "auto" and (head_fits or not self.spec.zero_shot)):
            if self.checkpoint is None:
                cost = HEAD_TRAINING_COST.get(self.key)
                raise PlanError(self.no_head_message(), fix=self.train_command(),
                                summary="no trained genre head" + (f"; training one took {cost}" if cost else ""))
            if not head_fits:
                unknown = [g for g in wanted if g not in self.trained_genres]
                raise PlanError(f"{self.name}'s trained head does not know {', '.join(unknown)}; "
                                f"it scores {', '.join(self.trained_genres)}"
                                + (" (use zero-shot for other genres)" if self.spec.zero_shot else ""),
                                summary="scores only the genres its head was trained on")
            tuned = self.checkpoint.thresholds
            return Plan(TRAINED, wanted, {g: tuned[g] if threshold is None else threshold for g in wanted})
        return self._zero_shot_plan(wanted, mode, threshold)

    def _zero_shot_plan(self, genres: list[str], mode: str, threshold: float | None) -> Plan:
        if not self.spec.zero_shot:
            raise PlanError(f"{self.name} has no zero-shot mode; its trained head scores "
                            f"{', '.join(self.trained_genres)}",
                            summary="no zero-shot mode: scores only the genres its head was trained on")
        value = ZERO_SHOT_THRESHOLD if threshold is None else threshold
        return Plan(ZERO_SHOT, genres, {g: value for g in genres})

    def no_head_message(self) -> str:
        folder, source = self.spec.checkpoint_dir(), self.spec.hub_folder()
        where = (source if source is not None else "its checkpoint folder" if folder is None else
                 folder.relative_to(PROJECT_ROOT) if folder.is_relative_to(PROJECT_ROOT) else folder)
        reason = f" ({self.head_error})" if self.head_error else ""
        return (f"{self.name}: no trained genre head in {where}{reason}. Train one: `{self.train_command()}`"
                + (", or use zero-shot mode" if self.spec.zero_shot else ""))

    def train_command(self) -> str:
        return command("train", "--models", self.key, "--data", "movies.csv")

    # -- the inference steps ---------------------------------------------------------------------
    def feature_requests(self, plan: Plan) -> list[FeatureRequest]:
        raise NotImplementedError

    def backbone_identity(self) -> dict:
        """What identifies the weights under the head (recorded in checkpoints, checked at load)."""
        raise NotImplementedError

    def head_feature_requests(self) -> list[FeatureRequest]:
        """The features a trained head of this model reads (training writes heads on exactly these)."""
        raise NotImplementedError

    def encoder_for(self, trained: bool) -> Encoder:
        """The encoder behind a feature request: the one a trained head reads (``trained``), or the one
        zero-shot reads. Only models with a backbone of their own have one."""
        raise NotImplementedError(f"{self.name} has no encoder of its own")

    def score(self, plan: Plan, features: Features) -> torch.Tensor:
        """[N, len(plan.genres)] independent probabilities from the features the plan requested."""
        raise NotImplementedError

    def words_read(self, words: list[str]) -> int:
        """How many of ``words`` (a plot split on whitespace) the model reads before its token limit."""
        return len(words)

    def _head_probabilities(self, features: torch.Tensor, genres: list[str]) -> torch.Tensor:
        with torch.inference_mode():
            logits = self.checkpoint.head(features)
        index = [self.trained_genres.index(g) for g in genres]
        return torch.sigmoid(logits[:, index])

    # -- prediction ----------------------------------------------------------------------------
    def predict(self, poster: PosterInput = None, plot: str | None = None,
                genres: Sequence[str] | None = None, mode: str = "auto",
                threshold: float | None = None, shared: dict | None = None,
                film: FilmInput | None = None) -> Prediction:
        """Score one film. Never raises: every failure is a ``Prediction.status`` with a plain message.

        Args:
            poster: path, bytes, PIL image or array; None for no poster.
            plot: the plot text; None or blank for no plot.
            genres: genre names to score (any phrase for zero-shot); default the head's or all 18.
            mode: "auto" (trained head when it knows the genres, else zero-shot), "trained" or "zero-shot".
            threshold: one threshold for every genre, instead of the tuned per-genre ones.
            shared: features already computed for this same film by other models (a Compare): read
                and filled here, so a backbone two models use runs once.
            film: the poster and plot already read (``read_film``), instead of ``poster`` and ``plot``.
        """
        if film is None:
            return self.predict_batch([poster], [plot], genres=genres, mode=mode, threshold=threshold,
                                      shared=shared)[0]
        return self.answer([film], genres, mode, threshold, shared)[0]

    def predict_batch(self, posters: Sequence[PosterInput], plots: Sequence[str | None],
                      genres: Sequence[str] | None = None, mode: str = "auto",
                      threshold: float | None = None, shared: dict | None = None,
                      prior_when_unread: bool = False) -> list[Prediction]:
        """Score several films at once; one Prediction per film, failures in place. Never raises
        (except for a caller bug: two lists of different lengths).

        ``prior_when_unread``: answer a film the model read nothing of with what it says for any such film
        instead of the ``nothing_read`` status (word occlusion needs that probability: a plot left with no
        word the model knows once a word is taken out)."""
        if len(posters) != len(plots):
            raise ValueError(f"{len(posters)} posters but {len(plots)} plots")
        films = [read_film(poster, plot, self.spec.needs_poster, self.spec.needs_plot)
                 for poster, plot in zip(posters, plots)]
        return self.answer(films, genres, mode, threshold, shared, prior_when_unread)

    def answer(self, inputs: Sequence[FilmInput], genres: Sequence[str] | None = None, mode: str = "auto",
               threshold: float | None = None, shared: dict | None = None,
               prior_when_unread: bool = False) -> list[Prediction]:
        """``predict_batch`` on films already read (:func:`~genre_models.data.inputs.read_film`): a
        request reads its inputs once, whatever the number of models. Never raises."""
        start = time.perf_counter()
        films = [_Film() for _ in inputs]
        try:
            threshold = check_threshold(threshold)
            films = [self._validate(film) for film in inputs]
            self.load()
            start = time.perf_counter()  # latency is inference only; loading happens once
            plan = self.plan(genres, mode, threshold)
            todo = [i for i, film in enumerate(films) if film.failure is None]
            if not todo:
                return [film.failure for film in films]
            features, truncated, unread = self.compute_features(self.feature_requests(plan),
                                                                [films[i] for i in todo], shared)
            probabilities = self.score(plan, features)
            if not torch.isfinite(torch.as_tensor(probabilities)).all():
                raise GenreLensError(f"{self.name} produced NaN or infinite probabilities (corrupt weights?)")
        except Exception as exc:  # the error contract: a status for every film, never an exception
            failure = self.failure(exc, time.perf_counter() - start)
            return [_and_unavailable(film.failure, failure) if film.failure else failure for film in films]
        latency = (time.perf_counter() - start) * 1000 / len(todo)
        results = {}
        for row, i in enumerate(todo):
            if unread[row]:
                try:
                    answer = self.answer_unread(plan, features, row, unread[row], latency, truncated[row])
                except Exception as exc:  # the error contract holds here too
                    answer = self.failure(exc, latency / 1000)
                if answer.ok or not prior_when_unread:  # an ensemble still answers, without that member
                    results[i] = answer
                    continue
            values = {g: float(p) for g, p in zip(plan.genres, probabilities[row].tolist())}
            results[i] = Prediction.from_probabilities(
                self.key, values, plan.thresholds, mode=plan.mode, latency_ms=latency,
                plot_truncated=truncated[row], message=self._note(truncated[row]),
                method=self.zero_shot_method if plan.mode == ZERO_SHOT else "")
        return [results.get(i) or film.failure for i, film in enumerate(films)]

    def compute_features(self, requests: list[FeatureRequest], films: list[_Film], shared: dict | None = None
                         ) -> tuple[Features, list[bool], list[dict[str, str]]]:
        """Run the encoders for each request on the films; also which films' plots were truncated, and per
        film which of the predictors read nothing of it (key -> why, ``Encoded.unread``).

        ``shared`` (request key -> Encoded) holds what other models already computed for the same films.
        """
        features: Features = {}
        truncated = [False] * len(films)
        unread: list[dict[str, str]] = [{} for _ in films]
        for request in requests:
            if request.key in features:
                continue
            encoded = shared.get(request.key) if shared is not None else None
            if encoded is None:
                values = [film.poster if request.modality == POSTER else film.plot for film in films]
                encoded = request.predictor.encoder_for(request.trained).encode(values)
                if shared is not None:
                    shared[request.key] = encoded
            features[request.key] = encoded.features
            truncated = [a or b for a, b in zip(truncated, encoded.truncated or [False] * len(films))]
            reason = request.predictor.encoder_for(request.trained).unread_reason
            for row, nothing in enumerate(encoded.unread or []):
                if nothing:
                    unread[row][request.predictor.key] = reason
        return features, truncated, unread

    def answer_unread(self, plan: Plan, features: Features, row: int, unread: dict[str, str], latency_ms: float,
                      truncated: bool) -> Prediction:
        """The answer for film ``row`` when this model, or a part of it, read nothing of it (``unread``: the
        predictor key -> why). A model's answer to a plot it read none of is the same for every such plot,
        not a reading of this one: it says so instead of answering. An ensemble overrides this (its other
        members still read the film)."""
        pool = {self.key: self, **{p.key: p for p in _parts(self)}}
        whose = "; ".join(why if key == self.key else f"its part {pool[key].name}: {why}"
                          for key, why in unread.items() if key in pool)
        return Prediction.failed(self.key, Status.NOTHING_READ,
                                 f"{self.name} read nothing of this plot: {whose}; its answer would be the same "
                                 "for any such plot, so it gives none", latency_ms=latency_ms,
                                 summary="read none of the plot's words")

    def failure(self, exc: BaseException, seconds: float = 0.0) -> Prediction:
        """The Prediction that reports ``exc`` for this model."""
        if isinstance(exc, FixableError):
            return Prediction.failed(self.key, Status.UNAVAILABLE, str(exc), latency_ms=seconds * 1000,
                                     summary=exc.summary, fix=exc.fix)
        if isinstance(exc, InvalidInputError):
            status, message = Status.INVALID_INPUT, f"{self.name}: {exc}"
        else:
            if not isinstance(exc, GenreLensError):
                log.error("%s failed", self.key, exc_info=exc)
            status, message = Status.ERROR, f"{self.name} failed: {describe(exc)}"
        return Prediction.failed(self.key, status, message, latency_ms=seconds * 1000)

    def _note(self, truncated: bool) -> str:
        notes = []
        if self.random_weights:
            notes.append("random weights (test/development model)")
        if truncated:
            notes.append("plot truncated to the model's token limit")
        if self.head_error:
            notes.append(f"trained head not loaded: {self.head_error}")
        return "; ".join(notes)

    def _validate(self, given: FilmInput) -> _Film:
        film = _Film()
        for needed, error in ((self.spec.needs_poster, given.poster_error), (self.spec.needs_plot, given.plot_error)):
            if needed and error is not None:
                film.failure = self.failure(error)
                return film
        film.poster = given.poster if self.spec.needs_poster else None
        film.plot = given.plot if self.spec.needs_plot else None
        missing = [what for what, needed, value in (("a poster", self.spec.needs_poster, film.poster),
                                                     ("a plot", self.spec.needs_plot, film.plot))
                   if needed and value is None]
        if missing:
            film.failure = Prediction.failed(self.key, Status.MISSING_INPUT,
                                             f"{self.name} needs {' and '.join(missing)}",
                                             summary=f"needs {' and '.join(missing)}")
        return film


def _and_unavailable(missing: Prediction, failure: Prediction) -> Prediction:
    """A film lacking an input of a model that could not answer anyway (no weights, no head) says both: a
    visitor told only "needs a poster" would learn of the missing weights after uploading one (issue 35)."""
    if missing.status is not Status.MISSING_INPUT or failure.status is not Status.UNAVAILABLE:
        return missing
    return Prediction.failed(missing.model_key, Status.UNAVAILABLE, f"{missing.message}; {failure.message}",
                             latency_ms=failure.latency_ms, fix=failure.fix,
                             summary=f"{missing.summary}, and {failure.summary or 'it cannot be loaded'}")


def _parts(predictor: GenrePredictor) -> list[GenrePredictor]:
    """The models a composed model (fusion, an ensemble) is made of; [] for a model alone."""
    parts = getattr(predictor, "parts", None)
    return list(parts.values()) if isinstance(parts, dict) else list(parts or [])


def load_parts(owner: str, parts: Sequence[tuple[str, GenrePredictor]], needs: str) -> None:
    """Load the parts of a composed model (fusion, an ensemble). When any is unavailable, raise one
    WeightsUnavailableError for ``owner`` naming each; ``parts`` are (how to name it, the part)."""
    failed = []
    for label, part in parts:
        try:
            part.load()
        except WeightsUnavailableError as exc:
            failed.append((label, part, exc))
    if failed:
        raise WeightsUnavailableError(
            f"{owner} needs {needs}: " + "; ".join(f"{label} is unavailable ({exc})" for label, _, exc in failed),
            summary="; ".join(f"needs {part.name}: {exc.summary or 'unavailable'}" for _, part, exc in failed),
            fix=" && ".join(exc.fix for *_, exc in failed if exc.fix))


def describe(exc: BaseException) -> str:
    """One line for an exception of any type: ours speak for themselves, others say what they are."""
    if is_disk_full(exc):  # a cache written while loading, say: the disk, not the model, is at fault
        return disk_full_message(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, GenreLensError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


