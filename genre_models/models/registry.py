"""Model keys -> specs (the timm ``register_model`` / ``create_model`` pattern), and family names -> families.

A :class:`ModelSpec` names a model, its family and the family's own settings (architecture and
where the weights come from), apart from the weights themselves. Users add or re-point keys without
editing the package, either with :func:`register_model` or with a JSON file read by
:func:`load_model_config`, whose entries are flat (common fields and family settings side by side)::

    {"models": [{"key": "my-clip", "family": "clip", "arch": "ViT-B-16-quickgelu",
                 "pretrained": "/data/my_clip.safetensors", "checkpoint": "/data/my_clip_head"}]}
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
import typing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Generic, Iterator, Protocol, TypeVar

import torch

from ..errors import ConfigError, GenreLensError, UnknownModelError
from ..files import loads_finite
from .checkpoint import has_config
from .hub import HubFolder, fetch_folder, heads_repo, is_hub_source, parse_hub_folder

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
CHECKPOINTS_DIR = PROJECT_ROOT / "checkpoints"

COMMON_FIELDS = ("key", "family", "display_name", "description", "checkpoint")
# a key names folders (checkpoints/<key>, the feature cache's <key>-..., a heads repo's <key>/): a plain name
MODEL_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
POSTER, PLOT = "poster", "plot"  # the inputs a family's models read

T = TypeVar("T")


class KeyedRegistry(Generic[T]):
    """One name -> object table (the models, the families): names in registration order; an unknown name raises ``unknown(name, valid_names)``.

    Args:
        what: what the entries are, for messages ("model", "family").
        unknown: builds the error for a name that is not registered (it lists the valid names).
    """

    def __init__(self, what: str, unknown: Callable[[str, list[str]], GenreLensError]):
        self.what, self._unknown = what, unknown
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T, overwrite: bool = False) -> T:
        if name in self._entries and not overwrite:
            raise ConfigError(f"{self.what} {name!r} is already registered; pass overwrite=True to replace it")
        self._entries[name] = entry
        return entry

    def remove(self, name: str) -> None:
        self._entries.pop(name, None)

    def names(self) -> list[str]:
        return list(self._entries)

    def items(self) -> Iterator[tuple[str, T]]:
        return iter(list(self._entries.items()))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __getitem__(self, name: str) -> T:
        try:
            return self._entries[name]
        except (KeyError, TypeError):  # TypeError: an unhashable "name" from a JSON file
            raise self._unknown(name, self.names()) from None


@dataclass(frozen=True)
class Fetch:
    """What one model needs from the Hugging Face Hub (a step of a family's download plan).

    ``repo`` is None when there is nothing to fetch (a local file, a model shipped in a package,
    random weights); ``note`` says why. ``files`` are alternatives (the first present on the hub is
    fetched) unless ``patterns`` is set, when every matching file is. ``probe`` are the files whose
    presence in the local cache means the weights are there.
    """

    key: str
    repo: str | None
    files: tuple[str, ...] = ()
    patterns: bool = False
    probe: tuple[str, ...] = ()
    note: str = ""


class Family(Protocol):
    """What the registry and its callers ask of a model family (``families/base.py``'s ``ModelFamily``
    implements it; the family modules register one object each)."""

    name: str
    settings_type: type
    inputs: tuple[str, ...]
    path_fields: tuple[str, ...]
    prompts: Callable[[str], list[str]] | None

    def has_zero_shot(self, spec: "ModelSpec") -> bool: ...
    def parse_settings(self, key: str, fields: dict[str, Any]) -> Any: ...
    def download_plan(self, spec: "ModelSpec") -> list[Fetch]: ...
    def check_weights(self, spec: "ModelSpec") -> None: ...
    def load(self, spec: "ModelSpec", device: torch.device) -> Any: ...  # an Encoder (families/base.py)
    def backbone_identity(self, spec: "ModelSpec") -> dict[str, Any]: ...


_FAMILIES: KeyedRegistry[Family] = KeyedRegistry(
    "family", lambda name, valid: ConfigError(f"unknown model family {name!r}; valid: {', '.join(valid)}"))


def register_family(family: Family, overwrite: bool = False) -> Family:
    """Make a family usable in model specs and ``--model-config`` files under ``family.name``."""
    return _FAMILIES.add(family.name, family, overwrite)


def unregister_family(name: str) -> None:
    _FAMILIES.remove(name)


def list_families() -> list[str]:
    return _FAMILIES.names()


def get_family(name: str) -> Family:
    """The registered family; an unknown name raises ConfigError listing the valid ones."""
    return _FAMILIES[name]


@dataclass(frozen=True)
class ModelSpec:
    """How to build one model.

    Attributes:
        key: registry key, e.g. ``clip-vit-b-16``.
        family: a registered family name (``timm-image``, ``clip``, ``hf-text``, ``fusion``, ...).
        settings: the family's settings object, or a dict of its fields (validated by the family).
        display_name, description: what the page shows.
        checkpoint: folder with a trained head (``model.safetensors`` + ``config.json``); relative
            paths are taken from the project root. Missing folder = no trained head. Or a hub repo
            folder, ``hf-hub:OWNER/REPO[/SUBFOLDER]`` (see :mod:`.hub`).
    """

    key: str
    family: str
    settings: Any = None
    display_name: str = ""
    description: str = ""
    checkpoint: str | None = None

    def __post_init__(self):
        if not self.key or not isinstance(self.key, str):
            raise ConfigError(f"a model needs a non-empty string 'key', got {self.key!r}")
        family = get_family(self.family)
        settings = self.settings if self.settings is not None else {}
        if isinstance(settings, dict):
            check_numbers(self.key, family.settings_type, settings)
            settings = family.parse_settings(self.key, settings)
        if not isinstance(settings, family.settings_type):
            raise ConfigError(f"model {self.key!r}: settings must be {family.settings_type.__name__} "
                              f"for family {self.family!r}, got {type(settings).__name__}")
        object.__setattr__(self, "settings", settings)
        if is_hub_source(self.checkpoint):
            parse_hub_folder(self.checkpoint, self.key)  # a malformed id fails here, not at first load

    @property
    def name(self) -> str:
        return self.display_name or self.key

    @property
    def family_impl(self) -> Family:
        return get_family(self.family)

    @property
    def needs_poster(self) -> bool:
        return POSTER in self.family_impl.inputs

    @property
    def needs_plot(self) -> bool:
        return PLOT in self.family_impl.inputs

    @property
    def zero_shot(self) -> bool:
        return self.family_impl.has_zero_shot(self)

    def checkpoint_dir(self) -> Path | None:
        """The local checkpoint folder (None: none, or the checkpoint is on the hub)."""
        if self.checkpoint is None or is_hub_source(self.checkpoint):
            return None
        path = Path(self.checkpoint).expanduser()
        return path if path.is_absolute() else PROJECT_ROOT / path

    def hub_folder(self) -> HubFolder | None:
        """Where the trained model comes from on the hub: its own ``hf-hub:`` checkpoint, else the heads
        repo's ``<key>/`` (``GENRELENS_HEADS``, :mod:`.hub`) when its local folder holds no trained
        model; None when neither applies (a spec with no checkpoint at all asks for none: training reads the
        bare backbone so)."""
        if is_hub_source(self.checkpoint):
            return parse_hub_folder(self.checkpoint, self.key)
        if self.checkpoint is None or has_config(self.checkpoint_dir()):
            return None
        repo = heads_repo()
        return HubFolder(repo, self.key) if repo else None

    def head_folder(self) -> Path | None:
        """The local folder holding the trained model: the checkpoint folder, or the hub copy; None when
        there is none.

        Raises:
            CheckpointError: the hub copy cannot be had (see :func:`.hub.fetch_folder`).
        """
        source = self.hub_folder()
        return self.checkpoint_dir() if source is None else fetch_folder(source)

    def to_dict(self) -> dict[str, Any]:
        """Flat fields, as a ``--model-config`` entry writes them."""
        common = {f: getattr(self, f) for f in COMMON_FIELDS}
        return {**common, **dataclasses.asdict(self.settings)}


def check_numbers(key: str, settings_type: type, fields: dict[str, Any]) -> None:
    """Refuse a setting declared a number (``int``, ``float``, optionally None) that is not one: a string
    ("20"), a boolean, NaN or infinity, or a fraction where a whole number is declared.

    Raises:
        ConfigError: one line naming the model and the setting.
    """
    try:
        hints = typing.get_type_hints(settings_type)
    except Exception:  # a user's family with annotations that do not resolve: its own checks apply
        return
    for name, value in fields.items():
        allowed = typing.get_args(hints.get(name)) or (hints.get(name),)
        numeric = [t for t in allowed if t in (int, float)]
        others = [t for t in allowed if isinstance(t, type) and t not in (int, float)]  # None in "float | None"
        if not numeric or any(isinstance(value, t) and not isinstance(value, bool) for t in others):
            continue
        kind = "finite number" if float in numeric else "whole number"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            shown = f"the text {value!r}" if isinstance(value, str) else json.dumps(value, default=repr)
        elif not math.isfinite(value) or (kind == "whole number" and not isinstance(value, int)):
            shown = repr(value)
        else:
            continue
        raise ConfigError(f"model {key!r}: setting '{name}' must be a {kind}, got {shown}")


def check_model_key(key: object) -> str:
    """``key`` if it is a plain name (:data:`MODEL_KEY`: letters, digits, ``._-``, a letter or digit first, at
    most 96 characters): a key becomes folder names, so a path in it would write outside them.

    Raises:
        ConfigError: one line naming the key and the rule.
    """
    if not isinstance(key, str) or not MODEL_KEY.fullmatch(key):
        raise ConfigError(f"model key {key!r} is not a plain name: use letters, digits, '.', '_' and '-', starting "
                          "with a letter or digit, at most 96 characters (a key names its checkpoint and cache folders)")
    return key


_MODELS: KeyedRegistry[ModelSpec] = KeyedRegistry("model", UnknownModelError)


def register_model(spec: ModelSpec, overwrite: bool = False) -> ModelSpec:
    """Add a model key (a plain name, :func:`check_model_key`). ``overwrite=True`` re-points an existing key
    (e.g. at other weights)."""
    return _MODELS.add(check_model_key(spec.key), spec, overwrite)


def unregister_model(key: str) -> None:
    _MODELS.remove(key)


def list_models(family: str | None = None) -> list[str]:
    """Registered model keys, in registration order (optionally of one family)."""
    return [k for k, s in _MODELS.items() if family is None or s.family == family]


def get_model_spec(key: str) -> ModelSpec:
    """The spec of a registered key; an unknown key raises UnknownModelError listing the valid ones."""
    return _MODELS[key]


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


def spec_from_dict(data: dict[str, Any], base: Path | None = None) -> ModelSpec:
    """Build a spec from a flat config entry. An entry for a known key may give only the fields to change.

    ``base``: folder that ``./`` and ``../`` paths in the entry are relative to.
    """
    if not isinstance(data, dict) or "key" not in data:
        raise ConfigError("each model config entry needs a 'key'")
    key = check_model_key(data["key"])
    if key in _MODELS:
        fields = {**_MODELS[key].to_dict(), **data}
        if data.get("family", fields["family"]) != _MODELS[key].family:  # another family: start afresh
            fields = dict(data)
    elif "family" not in data:
        raise ConfigError(f"new model {key!r} needs a 'family' (valid: {', '.join(list_families())}); "
                          f"it gives {', '.join(sorted(data))}")
    else:
        fields = dict(data)
    family = get_family(fields["family"])
    if base is not None:
        for name in ("checkpoint", *family.path_fields):
            value = data.get(name)
            if isinstance(value, str) and value.startswith(("./", "../")):
                fields[name] = str((base / value).resolve())
    settings = {k: v for k, v in fields.items() if k not in COMMON_FIELDS}
    common = {k: v for k, v in fields.items() if k in COMMON_FIELDS}
    return ModelSpec(settings=settings, **common)  # the family parses and checks its settings


def load_model_config(path: str | Path) -> list[str]:
    """Register (or re-point) the models listed in a JSON file; returns their keys."""
    path = Path(path)
    try:
        data = loads_finite(path.read_text(encoding="utf-8-sig"))  # a BOM is not JSON, but editors write one
    except FileNotFoundError:
        raise ConfigError(f"model config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"model config {path} cannot be read: {exc}") from None
    except ValueError as exc:  # not JSON, or NaN / Infinity in it (named by its field)
        raise ConfigError(f"model config {path} is not valid JSON: {exc}") from None
    entries = data.get("models") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f'model config {path} must look like {{"models": [{{"key": ...}}, ...]}}')
    specs = [spec_from_dict(entry, base=path.parent) for entry in entries]  # all valid, then register
    for spec in specs:
        register_model(spec, overwrite=True)
    return [spec.key for spec in specs]


def with_checkpoint(spec: ModelSpec, checkpoint: str | Path | None) -> ModelSpec:
    """The same model reading its head from another folder (None: no head)."""
    return replace(spec, checkpoint=None if checkpoint is None else str(checkpoint))
