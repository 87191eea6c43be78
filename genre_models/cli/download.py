"""Prefetch backbone weights into the Hugging Face cache, so the app and CLI later run offline.

    python -m genre_models.download                  # every model (as --models all)
    python -m genre_models.download --models clip-vit-l-14 bit-resnet50
    python -m genre_models.download --models timm/resnet50.a1_in1k   # a model the page adds by hub id

For each model it shows which files it fetches and their sizes, then downloads them with the
libraries' own hub code (same cache, same file names the loaders look for). ``--models`` also takes the
hub ids the page's "Add models from the hub" box takes (``models/extra_models.py``), checked as there:
the same forms, and the size read from the hub's model info first, refused over ``--max-extra-model-gb``.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from ..errors import CheckpointError, GenreLensError, UnknownModelError
from ..models import hub
from ..models.extra_models import ACCEPTED, check_fetchable, parse_extra_model
from ..models.registry import Fetch
from ..models.registry import ModelSpec, get_model_spec, resolve_lineup
from .options import (ExtraModelOptions, HeadsOptions, ModelsOptions, add_deprecated_spelling, add_options,
                      options_from)


def plan_fetch(spec: ModelSpec) -> list[Fetch]:
    """What a model needs from the hub (its family decides; fusion: what its two parts need)."""
    return spec.family_impl.download_plan(spec)


def _choose_files(fetch: Fetch) -> list[tuple[str, int]]:
    """(file, size) to download: all matching patterns for text models, the first present otherwise."""
    return hub.fetch_files(fetch.repo, fetch.files, fetch.patterns)


def download(fetch: Fetch) -> int:
    """Download one model's files into the HF cache (files already cached are left alone); returns bytes fetched.

    A dropped connection resumes: huggingface_hub asks the hub for the rest with a Range request.
    A killed run starts that file over next time (huggingface_hub never reuses another process's
    partial file); its leftovers are removed first.
    """
    from huggingface_hub import hf_hub_download
    freed = hub.remove_stale_partials(fetch.repo)
    if freed:
        print(f"[{fetch.key}] removed {freed / 1e6:,.1f} MB of partial files an interrupted run left behind")
    files = _choose_files(fetch)
    todo = [(name, size) for name, size in files if hub.cached_file(fetch.repo, (name,)) is None]
    total = sum(size for _, size in todo)
    if not todo:
        print(f"[{fetch.key}] {fetch.repo}: already in the cache ({len(files)} file(s)), nothing to fetch")
        return 0
    cached = f"; {len(files) - len(todo)} already cached" if len(todo) < len(files) else ""
    print(f"[{fetch.key}] {fetch.repo}: {', '.join(f for f, _ in todo)} ({total / 1e6:,.1f} MB{cached})", flush=True)
    for name, _ in todo:
        hf_hub_download(fetch.repo, name)  # tqdm progress bar from huggingface_hub
    return total


def download_heads(specs: Sequence[ModelSpec]) -> list[str]:
    """Fetch the trained heads the models read from a hub repo (``--heads``, ``hf-hub:`` checkpoints)
    into the HF cache, or check them there offline; returns the keys whose heads failed."""
    failed = []
    for spec in specs:
        source = spec.hub_folder()
        if source is None:
            continue
        try:
            folder = hub.fetch_folder(source)
        except CheckpointError as exc:
            failed.append(spec.key)
            print(f"[{spec.key}] failed: {exc}", file=sys.stderr)
            continue
        if folder is None:
            print(f"[{spec.key}] {source}: not in the repo (this model answers without a trained head)")
        else:
            size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
            print(f"[{spec.key}] {source}: in the cache ({size / 1e6:,.1f} MB)")
    return failed


def chosen_models(options: ModelsOptions, max_gb: float) -> tuple[list[ModelSpec], list[ModelSpec]]:
    """(registered models, models added by hub id) that ``--models`` names.

    A name that is not a registered key (``--model-config``'s count) and holds a ``/`` is a hub id, in one of
    the forms the page's add box takes (:func:`~genre_models.models.extra_models.parse_extra_model`); online,
    its size is read from the hub first (:func:`~genre_models.models.extra_models.check_fetchable`).

    Raises:
        UnknownModelError: a name that is neither (the message adds the hub-id forms).
        InvalidInputError: a malformed hub id. ExtraModelRefused: over ``max_gb``, or not on the hub.
    """
    registered = set(resolve_lineup(None, options.model_config))  # registers --model-config's models first
    ids = [m for m in dict.fromkeys(options.models) if m not in registered and m != "all" and "/" in m]
    keys = [m for m in options.models if m not in ids]
    try:
        lineup = [get_model_spec(k) for k in resolve_lineup(None if "all" in keys else keys)] if keys else []
    except UnknownModelError as exc:
        raise UnknownModelError(exc.key, [*exc.valid, f"or a hub id: {ACCEPTED}"]) from None
    added = [parse_extra_model(i) for i in ids]
    if added and hub.hub_reachable():  # offline, main() says which files are missing from the cache
        for spec in added:
            check_fetchable(spec, max_gb)
    return lineup, added


def _with_parts(specs: Sequence[ModelSpec]) -> list[ModelSpec]:
    """The models and, for one made of others (fusion, an ensemble), its parts: their heads answer too."""
    keys = dict.fromkeys(f.key for spec in specs for f in plan_fetch(spec))
    keys.update(dict.fromkeys(spec.key for spec in specs))
    return [get_model_spec(key) for key in keys]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genre_models download", description=__doc__.split("\n")[0])
    add_options(parser, ModelsOptions)
    add_deprecated_spelling(parser, field="models", instead="--models KEY [KEY ...]")
    add_options(parser, HeadsOptions)
    add_options(parser, ExtraModelOptions, only=["max_extra_model_gb"])
    args = parser.parse_args(argv)
    try:
        options_from(args, HeadsOptions).apply()
        specs, added = chosen_models(options_from(args, ModelsOptions), args.max_extra_model_gb)
        fetches = [f for spec in [*specs, *added] for f in plan_fetch(spec)]
    except GenreLensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    heads_failed = download_heads(_with_parts(specs))  # offline: whether they are in the cache; an added model has none
    fetches = list({(f.key, f.repo, f.files): f for f in fetches}.values())  # one model may fetch twice from a repo
    todo = [f for f in fetches if f.repo]
    for f in fetches:
        if not f.repo:
            print(f"[{f.key}] {f.note}")
    if todo and not hub.hub_reachable():
        missing = [f for f in todo if hub.cached_file(f.repo, f.probe or f.files) is None]
        # a model may fetch from one repo twice (SigLIP 2: weights, then its tokenizer): named once, and
        # in the cache only when both parts are
        wanted = {(f.key, f.repo) for f in missing}
        for key, repo in dict.fromkeys((f.key, f.repo) for f in todo if (f.key, f.repo) not in wanted):
            print(f"[{key}] {repo}: already in the cache")
        if not missing:
            return 1 if heads_failed else 0
        print(f"error: the Hugging Face Hub ({hub.hf_constants.ENDPOINT}) cannot be reached from this "
              "machine (offline, or HF_HUB_OFFLINE=1 is set). Run this command on a machine with "
              f"internet, then copy {hub.cache_dir()} here. Would fetch: "
              + ", ".join(dict.fromkeys(f"{f.key} ({f.repo})" for f in missing)), file=sys.stderr)
        return 1
    total, failed = 0, []
    for fetch in todo:
        try:
            total += download(fetch)
        except Exception as exc:  # report each model, keep going with the others
            failed.append(fetch.key)
            print(f"[{fetch.key}] failed: {exc}", file=sys.stderr)
    failed += [key for key in heads_failed if key not in failed]
    print(f"done: fetched {total / 1e6:,.1f} MB into {hub.cache_dir()}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    from . import run

    sys.exit(run(main))
