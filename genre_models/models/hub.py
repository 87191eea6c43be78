"""Offline-first access to the Hugging Face Hub cache.

timm, open_clip and transformers all fetch weights through ``huggingface_hub``. When the hub
cannot be reached they retry for 20-50 s per model before failing. We look once, with a short
timeout, and if the hub is out of reach we switch ``huggingface_hub`` to offline mode, so every
later load reads the local cache only and fails at once when the weights are not there.
"""
from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from urllib.parse import urlparse

import huggingface_hub
from huggingface_hub import constants as hf_constants

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
