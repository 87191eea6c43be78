"""One predictor interface for every model: ``predict(poster, plot) -> Prediction``.

A predictor is created cheaply from its spec and loads its backbone (and trained head, if one is in
``checkpoints/<key>/``) lazily, once, under a lock, so concurrent requests share one copy. Features
stay apart from the head (``features()``), so training, fusion and explanations reuse them.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from . import prompts
from .checkpoint import CheckpointError, HeadCheckpoint, has_checkpoint, load_checkpoint
from .encoders import WeightsUnavailableError, default_device, load_encoder
from .genres import GENRES
from .inputs import InvalidImageError, PosterInput, clean_plot, load_poster
from .prediction import Prediction, Status
from .registry import PROJECT_ROOT, ModelSpec, get_model_spec
from .zero_shot import ZeroShotScorer

log = logging.getLogger(__name__)

ZERO_SHOT_THRESHOLD = 0.5
MODES = ("auto", "trained", "zero-shot")


@dataclass
class _Item:
    """One film's inputs after validation; ``failure`` is set when it cannot be scored."""

    poster: object = None
    plot: str | None = None
    failure: Prediction | None = None


@dataclass
class _Plan:
    """How a request will be answered: which mode, which genres, which thresholds."""

    mode: str
    genres: list[str]
    thresholds: dict[str, float]
    part_mode: str = "auto"  # late fusion: the mode asked of each part
    threshold: float | None = None


class PlanError(Exception):
    """The request cannot be answered in the asked mode; the message is for the user."""


class GenrePredictor:
    """Base class: input validation, lazy loading, batching and status reporting."""

    def __init__(self, spec: ModelSpec, device: torch.device | None = None):
        self.spec = spec
        self.device = device or default_device()
        self._lock = threading.RLock()
        self._loaded = False
        self._load_error: str | None = None
        self.checkpoint: HeadCheckpoint | None = None
        self.head_error: str | None = None

    # -- loading -------------------------------------------------------------------------------
    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def loaded(self) -> bool:
        return self._loaded

    def load(self) -> None:
        """Load weights once; later calls return at once. Raises WeightsUnavailableError."""
        with self._lock:
            if self._loaded:
                return
            if self._load_error is not None:
                raise WeightsUnavailableError(self._load_error)
            try:
                self._load()
            except WeightsUnavailableError as exc:
                self._load_error = str(exc)
                raise
            self._loaded = True

    def reload(self) -> None:
        """Forget a failed or finished load (e.g. after downloading weights) and load again."""
        with self._lock:
            self._loaded, self._load_error = False, None
            self.load()

    def _load(self) -> None:
        raise NotImplementedError

    def _load_head(self, embedding_dim: int, backbone: dict) -> None:
        directory = self.spec.checkpoint_dir()
        if not has_checkpoint(directory):
            return
        try:
            self.checkpoint = load_checkpoint(directory, embedding_dim=embedding_dim, backbone=backbone)
        except CheckpointError as exc:
            self.head_error = str(exc)
            log.warning("%s: trained head not loaded: %s", self.key, exc)

    # -- planning ------------------------------------------------------------------------------
    @property
    def trained_genres(self) -> tuple[str, ...]:
        return self.checkpoint.genres if self.checkpoint else ()

    def _plan(self, genres: Sequence[str] | None, mode: str, threshold: float | None) -> _Plan:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; valid: {', '.join(MODES)}")
        wanted = list(genres) if genres else list(self.trained_genres or GENRES)
        head_fits = self.checkpoint is not None and set(wanted) <= set(self.trained_genres)
        head_only = self.checkpoint is not None and not self.spec.zero_shot
        if mode == "trained" or (mode == "auto" and (head_fits or head_only)):
            if self.checkpoint is None:
                raise PlanError(self._no_head_message())
            if not head_fits:
                unknown = [g for g in wanted if g not in self.trained_genres]
                raise PlanError(f"{self.spec.name}'s trained head does not know {', '.join(unknown)}; "
                                f"it scores {', '.join(self.trained_genres)}"
                                + (" (use zero-shot for other genres)" if self.spec.zero_shot else ""))
            ckpt = self.checkpoint.thresholds
            return _Plan("trained", wanted, {g: threshold if threshold is not None else ckpt[g]
                                             for g in wanted})
        if not self.spec.zero_shot:
            raise PlanError(self._no_head_message() if self.checkpoint is None else
                            f"{self.spec.name} has no zero-shot mode; its trained head scores "
                            f"{', '.join(self.trained_genres)}")
        default = ZERO_SHOT_THRESHOLD if threshold is None else threshold
        return _Plan("zero-shot", wanted, {g: default for g in wanted})

    def _no_head_message(self) -> str:
        folder = self.spec.checkpoint_dir()
        where = ("its checkpoint folder" if folder is None else
                 folder.relative_to(PROJECT_ROOT) if folder.is_relative_to(PROJECT_ROOT) else folder)
        reason = f" ({self.head_error})" if self.head_error else ""
        return (f"{self.spec.name} has no trained genre head in {where}{reason}. Train one with "
                f"`python -m genre_models.train --model {self.key} --data movies.csv`"
                + ("" if not self.spec.zero_shot else ", or use zero-shot mode"))

    # -- prediction ----------------------------------------------------------------------------
    def predict(self, poster: PosterInput = None, plot: str | None = None,
                genres: Sequence[str] | None = None, mode: str = "auto",
                threshold: float | None = None) -> Prediction:
        """Score one film. Never raises for bad input or missing weights: see ``Prediction.status``.

        Args:
            poster: path, bytes, PIL image or array; None for no poster.
            plot: the plot text; None or blank for no plot.
            genres: genre names to score (any phrase for zero-shot); default the head's or all 18.
            mode: "auto" (trained head when it knows the genres, else zero-shot), "trained" or "zero-shot".
            threshold: one threshold for every genre, instead of the tuned per-genre ones.
        """
        return self.predict_batch([poster], [plot], genres=genres, mode=mode, threshold=threshold)[0]

    def predict_batch(self, posters: Sequence[PosterInput], plots: Sequence[str | None],
                      genres: Sequence[str] | None = None, mode: str = "auto",
                      threshold: float | None = None) -> list[Prediction]:
        """Score several films at once (the evaluation path); one Prediction per film."""
        if len(posters) != len(plots):
            raise ValueError(f"{len(posters)} posters but {len(plots)} plots")
        items = [self._validate(poster, plot) for poster, plot in zip(posters, plots)]
        start = time.perf_counter()
        try:
            self.load()
        except WeightsUnavailableError as exc:
            return [self._failed(Status.UNAVAILABLE, str(exc), start) for _ in items]
        start = time.perf_counter()  # latency is inference only; loading happens once
        try:
            plan = self._plan(genres, mode, threshold)
        except PlanError as exc:
            return [item.failure or self._failed(Status.UNAVAILABLE, str(exc), start) for item in items]
        todo = [i for i, item in enumerate(items) if item.failure is None]
        results: dict[int, Prediction] = {}
        if todo:
            try:
                with torch.inference_mode():
                    probs, truncated = self._probabilities([items[i] for i in todo], plan)
            except Exception as exc:  # report, never crash the caller or show a stack trace
                log.exception("%s failed", self.key)
                return [item.failure or self._failed(Status.ERROR, f"{self.spec.name} failed: {exc}",
                                                     start) for item in items]
            latency = (time.perf_counter() - start) * 1000 / len(todo)
            for row, i in enumerate(todo):
                values = {g: float(p) for g, p in zip(plan.genres, probs[row].tolist())}
                results[i] = Prediction.from_probabilities(
                    self.key, values, plan.thresholds, mode=plan.mode, latency_ms=latency,
                    plot_truncated=truncated[row], message=self._note(truncated[row]))
        return [results.get(i) or item.failure for i, item in enumerate(items)]

    def _note(self, truncated: bool) -> str:
        notes = []
        if getattr(self, "random_weights", False):
            notes.append("random weights (test/development model)")
        if truncated:
            notes.append("plot truncated to the model's token limit")
        if self.head_error:
            notes.append(f"trained head not loaded: {self.head_error}")
        return "; ".join(notes)

    def _failed(self, status: Status, message: str, start: float) -> Prediction:
        return Prediction.failed(self.key, status, message,
                                 latency_ms=(time.perf_counter() - start) * 1000)

    def _validate(self, poster: PosterInput, plot: str | None) -> _Item:
        item = _Item()
        if self.spec.needs_poster:
            try:
                item.poster = load_poster(poster)
            except InvalidImageError as exc:
                item.failure = Prediction.failed(self.key, Status.INVALID_INPUT, f"poster: {exc}")
                return item
        if self.spec.needs_plot:
            item.plot = clean_plot(plot).text
        missing = [what for what, needed, value in (("a poster", self.spec.needs_poster, item.poster),
                                                     ("a plot", self.spec.needs_plot, item.plot))
                   if needed and value is None]
        if missing:
            item.failure = Prediction.failed(
                self.key, Status.MISSING_INPUT, f"{self.spec.name} needs {' and '.join(missing)}")
        return item

    def _probabilities(self, items: list[_Item], plan: _Plan) -> tuple[torch.Tensor, list[bool]]:
        raise NotImplementedError

    def _head_probabilities(self, features: torch.Tensor, genres: list[str]) -> torch.Tensor:
        logits = self.checkpoint.head(features)
        index = [self.trained_genres.index(g) for g in genres]
        return torch.sigmoid(logits[:, index])


class BackbonePredictor(GenrePredictor):
    """A single backbone (timm image, CLIP image, or HF text) with an optional trained head."""

    def __init__(self, spec: ModelSpec, device: torch.device | None = None):
        super().__init__(spec, device)
        self.encoder = None
        self.trained_encoder = None  # the encoder the trained head reads: fine-tuned, or the same one
        self.backbone_fingerprint: str | None = None
        self.scorer: ZeroShotScorer | None = None

    @property
    def random_weights(self) -> bool:
        return bool(self.encoder is not None and self.encoder.random_weights)

    @property
    def embedding_dim(self) -> int:
        self.load()
        return self.encoder.embedding_dim

    def _load(self) -> None:
        self.encoder = load_encoder(self.spec, self.device)
        if self.spec.zero_shot:
            if self.spec.family == "clip":
                scale = self.spec.zero_shot_scale or self.encoder.logit_scale
                self.scorer = ZeroShotScorer(self.encoder.encode_texts, prompts.poster_prompts, scale,
                                             self.spec.zero_shot_bias)
            else:
                self.scorer = ZeroShotScorer(self.encoder.encode_texts, prompts.plot_prompts,
                                             self.spec.zero_shot_scale or 20.0, self.spec.zero_shot_bias)
            self.scorer.genre_embeddings(GENRES)  # built once at load, not in the first request
        self._load_head(self.encoder.embedding_dim, {"arch": self.spec.arch})
        self.trained_encoder = self.encoder
        self.backbone_fingerprint = None
        if self.checkpoint is not None and self.checkpoint.config.get("finetuned_backbone"):
            self._load_finetuned_backbone()

    def _load_finetuned_backbone(self) -> None:
        """A head trained with ``--finetune`` comes with its own backbone weights (fp16 safetensors).

        They go into a copy of the encoder: zero-shot keeps the original embedding space.
        """
        from safetensors.torch import load_file

        from .finetune import encoder_with_backbone
        path = self.spec.checkpoint_dir() / self.checkpoint.config["finetuned_backbone"]
        try:
            recorded = self.checkpoint.config.get("finetuned_backbone_sha256")
            if recorded and hashlib.sha256(path.read_bytes()).hexdigest() != recorded:
                raise ValueError("the file does not match the sha256 its config records")
            encoder = encoder_with_backbone(self.encoder, load_file(str(path)))
        except Exception as exc:  # missing/corrupt file or keys of another architecture
            self.head_error = f"fine-tuned backbone {path.name} not loaded: {exc}"
            self.checkpoint = None
            log.warning("%s: %s", self.key, self.head_error)
            return
        self.trained_encoder = encoder
        self.backbone_fingerprint = self.checkpoint.config.get("finetuned_backbone_sha256")

    def features(self, posters: Sequence = (), plots: Sequence[str] = (),
                 trained: bool = False) -> tuple[torch.Tensor, list[bool]]:
        """Backbone features for loaded posters (PIL RGB) or cleaned plots, and truncation flags.

        ``trained=True`` uses the fine-tuned backbone of the checkpoint, when it has one.
        """
        self.load()
        encoder = self.trained_encoder if trained else self.encoder
        if self.spec.needs_poster:
            return encoder.encode_images(list(posters)), [False] * len(posters)
        batch = encoder.encode_texts(list(plots))
        return batch.embeddings, batch.truncated

    def _probabilities(self, items: list[_Item], plan: _Plan) -> tuple[torch.Tensor, list[bool]]:
        features, truncated = self.features([i.poster for i in items], [i.plot for i in items],
                                            trained=plan.mode == "trained")
        if plan.mode == "trained":
            return self._head_probabilities(features, plan.genres), truncated
        return self.scorer.probabilities(features, plan.genres), truncated


class FusionPredictor(GenrePredictor):
    """A poster model and a plot model: late fusion of probabilities, or a learned head over both
    embeddings when ``checkpoints/<key>/`` holds one."""

    def __init__(self, spec: ModelSpec, component: Callable[[str], GenrePredictor],
                 device: torch.device | None = None):
        super().__init__(spec, device)
        self.image = component(spec.image_model)
        self.text = component(spec.text_model)

    def _load(self) -> None:
        errors = []
        for part in (self.image, self.text):
            try:
                part.load()
            except WeightsUnavailableError as exc:
                errors.append(str(exc))
        if errors:
            raise WeightsUnavailableError(f"{self.spec.name} needs both of its parts. " + " ".join(errors))
        dim = self.image.embedding_dim + self.text.embedding_dim
        self._load_head(dim, {"image_model": self.image.spec.arch, "text_model": self.text.spec.arch})

    def _plan(self, genres, mode, threshold) -> _Plan:
        if mode == "zero-shot" or (mode == "auto" and self.checkpoint is None):
            wanted = list(genres) if genres else list(GENRES)
            # Thresholds come from the parts once they have answered.
            return _Plan("late-fusion", wanted, {}, part_mode=mode, threshold=threshold)
        return super()._plan(genres, mode, threshold)

    def _probabilities(self, items: list[_Item], plan: _Plan) -> tuple[torch.Tensor, list[bool]]:
        posters, plots = [i.poster for i in items], [i.plot for i in items]
        if plan.mode == "trained":
            image_features, _ = self.image.features(posters=posters)
            # frozen base features for both parts, as the fusion head was trained on
            text_features, truncated = self.text.features(plots=plots)
            features = torch.cat([image_features, text_features], dim=1)
            return self._head_probabilities(features, plan.genres), truncated
        return self._late_fusion(posters, plots, plan)

    def _late_fusion(self, posters, plots, plan: _Plan) -> tuple[torch.Tensor, list[bool]]:
        ask = dict(genres=plan.genres, mode=plan.part_mode, threshold=plan.threshold)
        image = self.image.predict_batch(posters, [None] * len(posters), **ask)
        text = self.text.predict_batch([None] * len(plots), plots, **ask)
        failed = [p for p in image + text if not p.ok]
        if failed:
            raise RuntimeError(failed[0].message)
        w = self.spec.image_weight
        probs = torch.tensor([[w * a.probabilities[g] + (1 - w) * b.probabilities[g] for g in plan.genres]
                              for a, b in zip(image, text)])
        plan.thresholds = {g: w * image[0].thresholds[g] + (1 - w) * text[0].thresholds[g]
                           for g in plan.genres}
        plan.mode = f"late fusion ({image[0].mode} poster, {text[0].mode} plot, poster weight {w:g})"
        return probs, [p.plot_truncated for p in text]


class ModelPool:
    """Creates each predictor once and shares backbones (a fusion model reuses its parts)."""

    def __init__(self, device: torch.device | None = None):
        self.device = device
        self._predictors: dict[str, GenrePredictor] = {}
        self._lock = threading.RLock()

    def get(self, key: str) -> GenrePredictor:
        with self._lock:
            if key not in self._predictors:
                self._predictors[key] = create_predictor(key, pool=self, device=self.device)
            return self._predictors[key]

    def predict(self, keys: Sequence[str], poster: PosterInput = None, plot: str | None = None,
                **kwargs) -> dict[str, Prediction]:
        """Every model's answer for one film, keyed by model."""
        return {key: self.get(key).predict(poster, plot, **kwargs) for key in keys}


def create_predictor(key: str, pool: ModelPool | None = None,
                     device: torch.device | None = None) -> GenrePredictor:
    """Create (not load) the predictor for a registered key. Unknown key -> error listing valid keys."""
    spec = get_model_spec(key)
    if spec.family == "fusion":
        pool = pool or ModelPool(device)
        return FusionPredictor(spec, pool.get, device)
    return BackbonePredictor(spec, device)
