"""Offline-first access to the Hugging Face Hub cache.

timm, open_clip and transformers all fetch weights through ``huggingface_hub``. When the hub
cannot be reached they retry for 20-50 s per model before failing. We look once, with a short
timeout, and if the hub is out of reach we switch ``huggingface_hub`` to offline mode, so every
later load reads the local cache only and fails at once when the weights are not there.

Trained heads come from a hub repo the same way: ``hf-hub:OWNER/REPO[/SUBFOLDER]``.

Someone with the weights and the posters runs ``reproduce --out DIR`` once and uploads ``DIR``
(``hf upload OWNER/REPO DIR``); every Space and laptop then reads ``REPO/<model key>/``. Two ways to
point a model there:

- its spec's ``checkpoint`` is ``hf-hub:OWNER/REPO/SUBFOLDER`` (a ``--model-config`` entry), or
- ``GENRELENS_HEADS=OWNER/REPO`` (``--heads OWNER/REPO`` on the app and the CLIs): every model with
  no trained model in its local checkpoint folder reads ``REPO/<its key>/``.

The folder comes through ``huggingface_hub.snapshot_download`` into the Hugging Face cache, under the
same offline rules as backbones (cache only when the hub is out of reach); the files are then read
exactly as a local checkpoint folder is, so their sha256 is checked against ``config.json`` there. A
repo without the model's subfolder means "no trained head" for that model, not an error.
"""
from __future__ import annotations

import os
import re
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import huggingface_hub
from huggingface_hub import constants as hf_constants

from ..commands import command
from ..errors import CheckpointError, ConfigError
from .checkpoint import has_config

_lock = threading.Lock()
_reachable: bool | None = None


def offline_mode() -> bool:
    """True when huggingface_hub will not go to the network (env var or our switch)."""
    return bool(hf_constants.HF_HUB_OFFLINE)


def set_offline(offline: bool = True) -> None:
    """Switch huggingface_hub (and so timm, open_clip, transformers) to cache-only loading.

    huggingface_hub reads HF_HUB_OFFLINE once at import; its ``is_offline_mode()``, which the
    three libraries call, returns the module constant, so both are set.
    """
    os.environ["HF_HUB_OFFLINE"] = "1" if offline else "0"
    hf_constants.HF_HUB_OFFLINE = offline


def _probe(host: str, port: int, timeout: float, result: list[bool]) -> None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            result.append(True)
    except OSError:
        result.append(False)


def hub_reachable(timeout: float = 2.0, refresh: bool = False) -> bool:
    """Whether the hub endpoint accepts a TCP connection within ``timeout`` seconds (cached).

    Runs the probe in a thread so a slow DNS lookup cannot hold us past the timeout either.
    """
    global _reachable
    with _lock:
        if offline_mode():
            return False
        if _reachable is not None and not refresh:
            return _reachable
        url = urlparse(hf_constants.ENDPOINT)
        port = url.port or (443 if url.scheme == "https" else 80)
        result: list[bool] = []
        thread = threading.Thread(target=_probe, args=(url.hostname, port, timeout, result), daemon=True)
        thread.start()
        thread.join(timeout + 0.1)
        _reachable = bool(result and result[0])
        return _reachable


def ensure_hub_mode(timeout: float = 2.0) -> bool:
    """Go offline when the hub is unreachable. Returns True when online."""
    online = hub_reachable(timeout)
    if not online:
        set_offline(True)
    return online


def cached_file(repo_id: str, filenames: tuple[str, ...]) -> str | None:
    """Path of the first of ``filenames`` present in the local HF cache for ``repo_id``, else None."""
    for filename in filenames:
        path = huggingface_hub.try_to_load_from_cache(repo_id, filename)
        if isinstance(path, str) and os.path.isfile(path):
            return path
    return None


def fetch_files(repo: str, names: tuple[str, ...], patterns: bool) -> list[tuple[str, int]]:
    """(file, size in bytes) a fetch of ``repo`` takes, from the hub's model info (nothing downloaded): every
    file matching ``names`` when ``patterns``, else the first of ``names`` present.

    Raises:
        huggingface_hub errors (no such repo, the hub failed); RuntimeError: the repo has none of ``names``.
    """
    from fnmatch import fnmatch
    siblings = huggingface_hub.HfApi().model_info(repo, files_metadata=True).siblings or []
    sizes = {s.rfilename: s.size or 0 for s in siblings}
    if patterns:
        return [(f, n) for f, n in sizes.items() if any(fnmatch(f, p) for p in names)]
    for name in names:
        if name in sizes:
            return [(name, sizes[name])]
    raise RuntimeError(f"{repo} has none of {', '.join(names)}")


def cache_dir() -> str:
    return hf_constants.HF_HUB_CACHE


def remove_stale_partials(repo_id: str) -> int:
    """Delete the partial downloads of ``repo_id`` that a killed run left in the cache; returns bytes freed.

    huggingface_hub writes each download to a temporary file of its own (``<etag>.<random>.incomplete``)
    and never picks one up again, so a download killed half-way (Ctrl-C, a closed laptop) leaves up to
    a whole model's size behind. A partial file is stale when nobody holds its blob's download lock.
    """
    from filelock import FileLock, Timeout
    from huggingface_hub.file_download import repo_folder_name
    folder = repo_folder_name(repo_id=repo_id, repo_type="model")
    freed = 0
    for partial in sorted((Path(cache_dir()) / folder / "blobs").glob("*.incomplete")):
        lock = Path(cache_dir()) / ".locks" / folder / f"{partial.name.split('.')[0]}.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(str(lock), timeout=0):
                size = partial.stat().st_size
                partial.unlink()
                freed += size
        except (Timeout, FileNotFoundError):  # a download is writing it now, or it just finished
            continue
    return freed


# -- trained heads from a hub repo ------------------------------------------------------------------
HUB_PREFIX = "hf-hub:"
HEADS_ENV = "GENRELENS_HEADS"
_SUBFOLDER = re.compile(r"[\w.-]+(/[\w.-]+)*")


@dataclass(frozen=True)
class HubFolder:
    """A folder of a model repo on the hub: where one trained model's files are."""

    repo: str
    subfolder: str

    def __str__(self) -> str:
        return f"{HUB_PREFIX}{self.repo}/{self.subfolder}"


def is_hub_source(value: object) -> bool:
    return isinstance(value, str) and value.startswith(HUB_PREFIX)


def repo_id_problem(repo: object) -> str | None:
    """Why ``repo`` is not a hub repo id of the form ``OWNER/NAME``, in a few words; None when it is one.

    The rules are the Hub library's own (``huggingface_hub.utils.validate_repo_id``: ASCII letters, digits,
    ``-_.``, at most 96 characters a part, no ``--`` or ``..``, no leading or trailing ``-`` or ``.``, no
    ``.git`` ending), so an id accepted here is never refused by the library later; GenreLens adds that the
    owner is named (a bare ``NAME`` is a model key or a folder, not a repo).
    """
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id
    if not isinstance(repo, str) or "/" not in repo:
        return "expected OWNER/NAME"
    try:
        validate_repo_id(repo)
    except HFValidationError as exc:
        # the library's sentence, without the id it repeats and its hint about arguments of its own API
        text = str(exc)
        text = text[:text.find(f"'{repo}'")] if f"'{repo}'" in text else text
        return text.rstrip(": .")
    return None


def check_repo_id(repo: str, what: str = "heads repo") -> str:
    """``repo`` if it is ``OWNER/NAME`` by the Hub library's rules (:func:`repo_id_problem`); else ConfigError,
    one line naming why and the form."""
    problem = repo_id_problem(repo)
    if problem is not None:
        raise ConfigError(f"{what} {repo!r} is not a hub repo id ({problem}): expected OWNER/NAME "
                          "(e.g. genrelens/heads)")
    return repo


def parse_hub_folder(value: str, key: str) -> HubFolder:
    """``hf-hub:OWNER/REPO[/SUBFOLDER]`` -> HubFolder; the subfolder defaults to the model's key.

    Raises:
        ConfigError: not of that form (a path escaping the repo, an empty owner, ...).
    """
    rest = value[len(HUB_PREFIX):].strip("/")
    owner, _, tail = rest.partition("/")
    name, _, subfolder = tail.partition("/")
    subfolder = subfolder or key
    if not _SUBFOLDER.fullmatch(subfolder) or any(part in (".", "..") for part in subfolder.split("/")):
        raise ConfigError(f"model {key!r}: checkpoint {value!r} must be hf-hub:OWNER/REPO[/SUBFOLDER]")
    return HubFolder(check_repo_id(f"{owner}/{name}", f"model {key!r}: checkpoint {value!r} names repo"), subfolder)


def heads_repo() -> str | None:
    """The repo ``GENRELENS_HEADS`` names (checked), or None."""
    repo = os.environ.get(HEADS_ENV, "").strip()
    return check_repo_id(repo, HEADS_ENV) if repo else None


def use_heads_repo(repo: str | None) -> None:
    """``--heads``: point this process (and the processes it starts) at ``repo``; None keeps
    ``GENRELENS_HEADS`` as it is, checked here so a bad value stops a command at once.

    Raises ConfigError for a repo id that is not OWNER/NAME.
    """
    if repo:
        os.environ[HEADS_ENV] = check_repo_id(repo.strip(), "--heads")
    heads_repo()


def fetch_folder(folder: HubFolder) -> Path | None:
    """The local copy of ``folder`` (downloaded into the HF cache when the hub is reachable), or None
    when the repo has no trained model there.

    Raises:
        CheckpointError: one line: offline and never downloaded, no such repo, or the hub failed.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError
    offline = not hub_reachable()
    try:
        root = snapshot_download(folder.repo, allow_patterns=[f"{folder.subfolder}/*"], local_files_only=offline)
    except RepositoryNotFoundError:
        raise CheckpointError(f"no heads repo {folder.repo} on {hf_constants.ENDPOINT}") from None
    except LocalEntryNotFoundError:  # includes an incomplete snapshot
        raise CheckpointError(f"{folder} is not downloaded and the hub cannot be reached; fetch it with "
                              f"`{command('download', '--heads', folder.repo)}` on a machine with "
                              "internet") from None
    except (HfHubHTTPError, OSError) as exc:
        raise CheckpointError(f"{folder} could not be fetched: {str(exc).splitlines()[0] if str(exc) else exc!r}") \
            from None
    local = Path(root) / folder.subfolder
    return local if has_config(local) else None
