"""timm image backbones (the thesis CNN: BiT-ResNet50, ``resnetv2_50x1_bit.goog_in21k``).

Features are timm's pooled pre-logits (what ``num_classes=0`` gives); a trained genre head lives apart.
A CNN has no text side, but one whose checkpoint keeps its classifier over named classes (BiT's
21,843 ImageNet-21k classes, any ImageNet-1k model) answers zero-shot through ConSE (``models/conse.py``):
its top classes' names, embedded by the plot side's text encoder, against genre prompts that name what
posters show (``prompts.conse_prompts``).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch

from ...errors import ConfigError, WeightsUnavailableError
from .. import conse
from ..prompts import conse_prompts
from ..registry import Fetch, get_model_spec, register_family
from .base import POSTER, Encoder, ImageEncoder, ModelFamily, PretrainedWeights, missing_weights

# The files timm's loader reads, first one found on the hub wins.
HUB_FILES = ("model.safetensors", "pytorch_model.bin")


@dataclass(frozen=True)
class TimmSettings(PretrainedWeights):
    """Args:
        arch: timm model name, e.g. ``resnetv2_50x1_bit``.
        pretrained: timm pretrained tag (``goog_in21k``) or a local weights file; None = random weights.
        model_kwargs: extra ``timm.create_model`` arguments (tiny test variants).
    """

    arch: str
    pretrained: str | None = None
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    conse_labels: str | tuple[str, ...] | None = "auto"
    conse_top: int = conse.DEFAULT_TOP
    conse_text_model: str = "minilm"
    zero_shot_scale: float | None = None
    zero_shot_bias: float = 0.0

    def __post_init__(self):
        if not self.arch:
            raise ConfigError("a timm-image model needs 'arch' (a timm model name)")
        if isinstance(self.conse_labels, list):
            object.__setattr__(self, "conse_labels", tuple(self.conse_labels))
        if not isinstance(self.conse_top, int) or self.conse_top < 1:
            raise ConfigError(f"conse_top must be a whole number of classes, at least 1, got {self.conse_top!r}")

    def conse_label_set(self) -> str | tuple[str, ...] | None:
        """The class names ConSE reads: a timm ImageNet label set's name, a tuple of names, or None (off).

        "auto" is the label set of the pretrained tag's classifier (timm's ``infer_imagenet_subset``),
        None for random or local weights, whose classes nobody named.
        """
        if self.conse_labels != "auto":
            return self.conse_labels or None
        if not self.pretrained or self.weights_file:
            return None
        import timm
        from timm.data import infer_imagenet_subset
        cfg = timm.models.get_pretrained_cfg(f"{self.arch}.{self.pretrained}")
        return infer_imagenet_subset(cfg) if cfg is not None and cfg.num_classes else None



class TimmImageEncoder(ImageEncoder):
    def __init__(self, model: torch.nn.Module, device: torch.device, random_weights: bool,
                 conse_view: "ConSEEncoder | None" = None):
        from timm.data import create_transform, resolve_data_config
        self.model = model.eval().to(device)
        self.device = device
        self.random_weights = random_weights
        self.embedding_dim = int(model.num_features)
        self.preprocess = create_transform(**resolve_data_config({}, model=model))
        self.conse_view = conse_view

    def pixel_features(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model(pixels).float()  # pooled pre-logits: built with num_classes=0 or its classifier reset

    def zero_shot_encoder(self) -> Encoder:
        return self.conse_view or self

    def explanation_target_layers(self) -> list[torch.nn.Module]:
        """The last feature map as timm itself names it (``feature_info``), the usual Grad-CAM target.

        BiT is a pre-activation ResNet (``ResNetV2``): its last stage ends before a norm and a ReLU, and
        Grad-CAM assumes non-negative activations, so there the target is that final ``norm`` (same grid,
        after the ReLU).
        """
        from timm.models.resnetv2 import ResNetV2
        if isinstance(self.model, ResNetV2) and not isinstance(self.model.norm, torch.nn.Identity):
            return [self.model.norm]
        info = getattr(self.model, "feature_info", None)
        return [self.model.get_submodule(info[-1]["module"])] if info else []


def _as_bf16_linear(classifier: torch.nn.Module) -> torch.nn.Module:
    """A timm classifier as a bfloat16 ``nn.Linear`` on pooled features (same weights).

    BiT's head is a 1x1 convolution over the pooled map, i.e. a linear layer. Its 21,843 x 2,048
    weights (179 MB in float32) are read in full for every poster, so one poster's logits are
    memory-bound: bfloat16 halves that read (docs/benchmarks.md, ``python -m bench conse``), and ConSE
    only ranks the logits and mixes the top ten.
    """
    weight = getattr(classifier, "weight", None)
    if isinstance(classifier, torch.nn.Conv2d) and classifier.kernel_size == (1, 1):
        linear = torch.nn.Linear(classifier.in_channels, classifier.out_channels, bias=classifier.bias is not None)
        with torch.no_grad():
            linear.weight.copy_(weight.flatten(1))
            if classifier.bias is not None:
                linear.bias.copy_(classifier.bias)
        classifier = linear
    if not isinstance(classifier, torch.nn.Linear):
        return classifier.eval()  # another head: run as it is
    return classifier.eval().to(torch.bfloat16)


class ConSEEncoder(ImageEncoder):
    """A timm classifier read zero-shot through ConSE: posters -> [N, D] semantic embeddings in the text
    encoder's space (``conse.conse_embedding`` of the top ``top`` classes), prompts -> the same space.

    The class names are embedded once, on first use (``prepare``), and cached on disk.
    """

    def __init__(self, base: TimmImageEncoder, classifier: torch.nn.Module, names: Sequence[str], label_set: str,
                 text: Encoder, text_identity: dict, top: int):
        self.base, self.names, self.top = base, list(names), top
        self.classifier = _as_bf16_linear(classifier).to(base.device)
        self.text, self.text_identity, self.label_set = text, text_identity, label_set
        self.model, self.device, self.preprocess = base.model, base.device, base.preprocess
        self.random_weights = base.random_weights
        self.embedding_dim = text.embedding_dim
        self.default_zero_shot_scale = text.default_zero_shot_scale
        self._labels: torch.Tensor | None = None
        self._lock = threading.Lock()

    @property
    def method(self) -> str:
        """What the card and chart say: "ConSE, ImageNet-21k labels"."""
        pretty = {"imagenet-1k": "ImageNet-1k", "imagenet-21k-goog": "ImageNet-21k", "imagenet-22k": "ImageNet-22k",
                  "imagenet-21k-miil": "ImageNet-21k (MIIL)", "imagenet-12k": "ImageNet-12k"}
        return f"ConSE, {pretty.get(self.label_set, self.label_set)} labels"

    def identity(self) -> dict:
        return {"conse": self.label_set, "top": self.top, "text": self.text_identity}

    def prepare(self) -> None:
        """Embed the class names (minutes for 21,843 on a CPU the first time, then read from disk)."""
        self.labels()

    def labels(self) -> torch.Tensor:
        with self._lock:
            if self._labels is None:
                self._labels = conse.label_embeddings(self.names, self.text.encode_prompts,
                                                      {"text": self.text_identity, "labels": self.label_set},
                                                      progress=True)
            return self._labels

    def class_logits(self, features: torch.Tensor) -> torch.Tensor:
        """[N, F] pooled features -> [N, C] class logits through the checkpoint's own classifier."""
        return self.classifier(features.to(self.classifier.weight.dtype)).float()

    def pixel_features(self, pixels: torch.Tensor) -> torch.Tensor:
        """Pixels -> the backbone's pooled features -> ConSE's semantic embeddings, differentiably (Grad-CAM
        explains through it)."""
        return conse.conse_embedding(self.class_logits(self.base.pixel_features(pixels)), self.labels(), self.top)

    def encode_prompts(self, texts: Sequence[str]) -> torch.Tensor:
        return self.text.encode_prompts(texts)

    def explanation_target_layers(self) -> list[torch.nn.Module]:
        return self.base.explanation_target_layers()


class TimmImageFamily(ModelFamily):
    name = "timm-image"
    settings_type = TimmSettings
    inputs = (POSTER,)
    path_fields = ("pretrained",)
    prompts = staticmethod(conse_prompts)
    # ConSE reads the classifier the backbone's features already feed: its settings change no feature
    identity_excludes = ("conse_labels", "conse_top", "conse_text_model", "zero_shot_scale", "zero_shot_bias")

    def has_zero_shot(self, spec) -> bool:
        return spec.settings.conse_label_set() is not None

    def download_plan(self, spec) -> list[Fetch]:
        settings: TimmSettings = spec.settings
        local = settings.local_fetch(spec.key, spec.name)
        if local is not None:
            return local
        import timm
        cfg = timm.models.get_pretrained_cfg(f"{settings.arch}.{settings.pretrained}")
        if cfg is None or not cfg.hf_hub_id:
            raise WeightsUnavailableError(f"{spec.name}: timm knows no hub weights "
                                          f"'{settings.arch}.{settings.pretrained}'")
        return [Fetch(spec.key, cfg.hf_hub_id, HUB_FILES)]

    def load(self, spec, device: torch.device) -> TimmImageEncoder:
        import timm
        settings: TimmSettings = spec.settings
        settings.check_local(spec.key, spec.name)
        self.check_weights(spec)
        extra: dict[str, Any] = {}
        name = settings.arch
        if settings.weights_file:
            extra["pretrained_cfg_overlay"] = {"file": settings.weights_file}
        elif settings.pretrained:
            name = f"{settings.arch}.{settings.pretrained}"
        label_set = settings.conse_label_set()
        if label_set is None:
            extra["num_classes"] = 0  # features only: the genre head lives apart
        elif isinstance(label_set, tuple):
            extra["num_classes"] = len(label_set)
        try:
            model = timm.create_model(name, pretrained=bool(settings.pretrained), **{**extra, **settings.model_kwargs})
        except (OSError, RuntimeError) as exc:  # LocalEntryNotFoundError is an OSError
            raise missing_weights(spec.key, spec.name, name, str(exc)) from exc
        random = not settings.pretrained
        if label_set is None:
            return TimmImageEncoder(model, device, random)
        classifier = model.get_classifier()
        model.reset_classifier(0)  # the backbone gives pooled features, as without ConSE; the classifier kept apart
        encoder = TimmImageEncoder(model, device, random)
        encoder.conse_view = self._conse_view(spec, encoder, classifier, label_set)
        return encoder

    @staticmethod
    def _conse_view(spec, encoder: TimmImageEncoder, classifier: torch.nn.Module,
                    label_set: str | tuple[str, ...]) -> "ConSEEncoder":
        settings: TimmSettings = spec.settings
        names = conse.imagenet_label_names(label_set) if isinstance(label_set, str) else list(label_set)
        classes = getattr(classifier, "out_features", None) or getattr(classifier, "out_channels", None)
        if classes != len(names):
            raise ConfigError(f"{spec.name}: its classifier has {classes} classes but {len(names)} class names "
                              f"were given for ConSE ({label_set if isinstance(label_set, str) else 'a list'})")
        text_spec = get_model_spec(settings.conse_text_model)
        # the text side runs on the CPU: the class names are embedded once, outside any GPU call
        text = text_spec.family_impl.load(text_spec, torch.device("cpu"))
        return ConSEEncoder(encoder, classifier, names, label_set if isinstance(label_set, str) else "custom",
                            text, text_spec.family_impl.backbone_identity(text_spec), settings.conse_top)


register_family(TimmImageFamily())
