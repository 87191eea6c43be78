"""Models a visitor names by hub id, answered beside the lineup through the same families (issue 23).

Three forms are accepted, each mapped to a registered family's settings (nothing else is built):

- ``hf-hub:ORG/NAME``: an open_clip repo (``open_clip_config.json`` + weights), zero-shot through its text
  tower (``clip`` family: prompts against a neutral prompt, or a SigLIP's own sigmoid);
- ``timm/NAME``: a timm pretrained classifier over ImageNet classes, zero-shot through its class names
  (``timm-image`` family, ConSE, Norouzi et al. 2014);
- ``ORG/NAME``: a transformers text encoder on the plot, zero-shot as MiniLM's zero-shot mode is
  (``hf-text`` family: mean-pooled embeddings of genre descriptions against a neutral one).

What a visitor types is checked against those forms strictly, the repo id by the Hub library's own rules
(``hub.repo_id_problem``; no path, no scheme but ``hf-hub:``), and only ever becomes a hub repo id: the
files land in the Hugging Face cache, code in a repo is never run (``trust_remote_code`` is never passed),
and an id that names a folder next to the process is refused. Before anything is downloaded, the size of
what would be fetched is read from the hub's model info and refused over a limit; offline, an id already in
the cache answers and any other says it is not downloaded. The model's config (``config.json``,
``open_clip_config.json``) is read before the model is built, its numbers finite. At most ``max_loaded`` such models stay loaded: the least recently used
one is dropped past that.
"""
from __future__ import annotations

import gc
import logging
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import torch

from ..commands import command
from ..errors import FixableError, GenreLensError, InvalidInputError
from ..files import disk_full_message, is_disk_full, loads_finite
from . import hub
from .prediction import Prediction, Status
from .registry import ModelSpec

log = logging.getLogger(__name__)
ACCEPTED = ("hf-hub:ORG/NAME (an open_clip model), timm/NAME (a timm ImageNet classifier) or ORG/NAME "
            "(a transformers text encoder)")
MAX_LOADED = 3
DEFAULT_MAX_GB = 2.0
_TIMM_NAME = re.compile(r"[a-z0-9_]{1,96}(?:\.[a-z0-9_]{1,64})?")

DESCRIPTIONS = {
    "clip": "an open_clip model from the hub, on the poster: zero-shot through its text tower (genre prompts "
            "against a neutral one; a SigLIP scores each genre with its own sigmoid)",
    "timm-image": "a timm ImageNet classifier from the hub, on the poster: zero-shot through its class names (ConSE)",
    "hf-text": "a transformers text encoder from the hub, on the plot: zero-shot from mean-pooled embeddings of "
               "genre descriptions against a neutral one (as MiniLM's zero-shot mode)",
}


class ExtraModelRefused(FixableError):
    """An added model that will not be loaded: too large, not downloaded, not on the hub."""


def _refuse(text: str, why: str) -> InvalidInputError:
    return InvalidInputError(f"{text!r} {why}; add a model as {ACCEPTED}")


def parse_extra_model(text: str) -> ModelSpec:
    """A visitor's hub id -> the spec of a model of a registered family, keyed by the id itself.

    Raises:
        InvalidInputError: one line naming the accepted forms: malformed, a path, unknown to timm, a timm
            model without ImageNet class names.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError(f"an added model needs a hub id: {ACCEPTED}")
    text = text.strip()
    repo = text[len("hf-hub:"):] if text.startswith("hf-hub:") else text
    problem = hub.repo_id_problem(repo)  # the Hub library's own rules: what passes here, it never refuses
    if problem is not None:
        raise _refuse(text, f"is not a hub id ({problem})")
    if text.startswith("hf-hub:"):
        return _spec(text, "clip", {"arch": f"hf-hub:{repo}"})
    if text.startswith("timm/"):
        return _timm_spec(text, text[len("timm/"):])
    if Path(text).exists():  # transformers would read a folder of that name here instead of the hub
        raise _refuse(text, "names a folder on this machine, not a hub model")
    return _spec(text, "hf-text", {"source": text, "max_length": 256})


def _timm_spec(text: str, name: str) -> ModelSpec:
    import timm
    from timm.data import infer_imagenet_subset
    if not _TIMM_NAME.fullmatch(name):
        raise _refuse(text, "is not timm/NAME")
    cfg = timm.models.get_pretrained_cfg(name) if name.split(".")[0] in timm.list_models() else None
    if cfg is None or not cfg.hf_hub_id or not cfg.hf_hub_id.startswith("timm/"):
        raise _refuse(text, "is not a pretrained model timm knows (timm.list_pretrained())")
    arch, _, tag = cfg.hf_hub_id[len("timm/"):].partition(".")
    if not cfg.num_classes or not infer_imagenet_subset(cfg):
        raise _refuse(text, "is not a classifier over ImageNet classes (ConSE needs their names)")
    return _spec(text, "timm-image", {"arch": arch, "pretrained": tag})


def _spec(key: str, family: str, settings: dict) -> ModelSpec:
    return ModelSpec(key, family, settings, key, DESCRIPTIONS[family], checkpoint=None)


def check_fetchable(spec: ModelSpec, max_gb: float) -> int:
    """Bytes the model's files take on the hub, read from its model info before any download; 0 offline
    when every file is in the cache.

    Raises:
        ExtraModelRefused: over ``max_gb``; not on the hub; offline and not in the cache.
    """
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
    plan = [f for f in spec.family_impl.download_plan(spec) if f.repo]
    if not hub.hub_reachable():
        if any(hub.cached_file(f.repo, f.probe or f.files) is None for f in plan):
            fix = command("download", "--models", spec.key)  # what a presenter runs before going offline
            raise ExtraModelRefused(f"{spec.key}: weights not downloaded (not in the local cache, and the Hugging "
                                    f"Face Hub cannot be reached); fetch it with `{fix}` on a machine with internet",
                                    summary="weights not downloaded", fix=fix)
        check_configs(spec, plan, online=False)
        return 0
    try:
        total = sum(size for f in plan for _, size in hub.fetch_files(f.repo, f.files, f.patterns))
    except RepositoryNotFoundError:
        raise ExtraModelRefused(f"{spec.key}: no such model on {hub.hf_constants.ENDPOINT}",
                                summary="no such model on the hub") from None
    except (HfHubHTTPError, OSError, RuntimeError) as exc:
        raise ExtraModelRefused(f"{spec.key}: the hub could not list its files ({_one_line(exc)})",
                                summary="its files could not be listed") from None
    if total > max_gb * 1e9:
        raise ExtraModelRefused(f"{spec.key}: {total / 1e9:,.2f} GB to download, over the {max_gb:g} GB limit for "
                                "added models (--max-extra-model-gb); nothing was downloaded",
                                summary=f"{total / 1e9:,.2f} GB, over the {max_gb:g} GB limit")
    check_configs(spec, plan, online=True)
    return total


def _one_line(exc: BaseException) -> str:
    """What went wrong, for a visitor's card: a full disk said as such, an OS error without its server path."""
    if is_disk_full(exc):
        return disk_full_message(exc, "the server's disk")
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        return exc.strerror
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def check_configs(spec: ModelSpec, plan: list, online: bool) -> None:
    """Read the config files the model's library will read (the JSON files its download plan probes for:
    ``config.json``, ``open_clip_config.json``; fetched alone first when online, a few KB) with finite numbers
    only: NaN or Infinity there is refused naming the field, not met later as NaN probabilities.

    Raises:
        ExtraModelRefused: a config that is not JSON as the standard has it, or that cannot be fetched.
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError
    for fetch in plan:
        for name in (n for n in fetch.probe if n.endswith(".json")):
            try:
                path = hf_hub_download(fetch.repo, name) if online else hub.cached_file(fetch.repo, (name,))
                loads_finite(Path(path).read_bytes())
            except ValueError as exc:  # not JSON, or NaN / Infinity in it (named by its field)
                raise ExtraModelRefused(f"{spec.key}: its {name} cannot be used ({exc})",
                                        summary=f"its {name} cannot be used") from None
            except (HfHubHTTPError, OSError) as exc:
                raise ExtraModelRefused(f"{spec.key}: its {name} could not be fetched ({_one_line(exc)})",
                                        summary=f"its {name} could not be fetched") from None


class ExtraModels:
    """The models visitors added, loaded on demand, at most ``max_loaded`` at once (least recently used dropped).

    Args:
        max_loaded: how many stay loaded.
        max_gb: the largest download accepted, in GB (1e9 bytes), from the hub's model info.
        device: where they run (default: CUDA when present).
    """

    def __init__(self, max_loaded: int = MAX_LOADED, max_gb: float = DEFAULT_MAX_GB,
                 device: torch.device | None = None):
        self.max_loaded, self.max_gb, self.device = max_loaded, max_gb, device
        self._loaded: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def loaded(self) -> list[str]:
        """Keys of the models held now, least recently used first."""
        with self._lock:
            return list(self._loaded)

    def predictor(self, spec: ModelSpec):
        """The (shared) predictor of an accepted spec; checks the size or the cache the first time."""
        from .predictors import create_predictor
        with self._lock:
            if spec.key in self._loaded:
                self._loaded.move_to_end(spec.key)
                return self._loaded[spec.key]
        check_fetchable(spec, self.max_gb)
        with self._lock:
            predictor = self._loaded.setdefault(spec.key, create_predictor(spec, device=self.device))
            self._loaded.move_to_end(spec.key)
            dropped = [self._loaded.popitem(last=False) for _ in range(len(self._loaded) - self.max_loaded)]
        if dropped:
            del dropped
            gc.collect()  # the dropped model's weights go now, not at some later collection
        return predictor

    def predict(self, ids: Sequence[str], poster=None, plot: str | None = None, **kwargs) -> dict[str, Prediction]:
        """Each added model's answer (or why it gives none), keyed by its id as typed (stripped)."""
        out: dict[str, Prediction] = {}
        for text in dict.fromkeys(i.strip() for i in ids if isinstance(i, str) and i.strip()):
            try:
                predictor = self.predictor(parse_extra_model(text))
            except InvalidInputError as exc:
                out[text] = Prediction.failed(text, Status.INVALID_INPUT, str(exc), summary=str(exc))
                continue
            except GenreLensError as exc:
                out[text] = Prediction.failed(text, Status.UNAVAILABLE, str(exc), summary=getattr(exc, "summary", ""),
                                              fix=getattr(exc, "fix", ""))
                continue
            except Exception as exc:  # a library refusing what we accepted costs this id only, never the lineup
                log.error("added model %r could not be set up", text, exc_info=exc)
                why = f"{text!r} could not be added ({type(exc).__name__})"
                out[text] = Prediction.failed(text, Status.ERROR, why, summary=why)
                continue
            out[text] = predictor.predict(poster, plot, **kwargs)
        return out


def split_ids(text: str | Sequence[str] | None) -> list[str]:
    """Ids from a text box ("a, b" or one per line) or a list; at most :data:`MAX_LOADED` (InvalidInputError
    past that). Only commas and line breaks separate ids: "not an id" is one id (refused as one), not three."""
    if text is None:
        return []
    items = re.split(r"[,\n]+", text) if isinstance(text, str) else [str(i) for i in text]
    ids = list(dict.fromkeys(i.strip() for i in items if i and i.strip()))
    if len(ids) > MAX_LOADED:
        raise InvalidInputError(f"at most {MAX_LOADED} added models at once; got {len(ids)}")
    return ids
