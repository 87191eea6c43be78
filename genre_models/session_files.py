"""A browser session's files: its uploads (counted, as gradio stores identical uploads at one path), and one
folder per session for what it unpacks and returns (the "Your films" tab's posters and predictions).

The folders live under one root per app, ``genrelens-sessions-<random>``, inside gradio's upload folder:
gradio serves a file returned from there in place instead of keeping a copy of its own, so removing the
folder when the page is closed (gradio's unload event) is the end of the file. The app holds an advisory
lock (``flock``) on its root for its whole life; the kernel drops it however the process ends, so
:func:`sweep` at start removes the roots of apps that were killed (SIGKILL, a crash, a power cut) and never
a live app's, even another app's on the same machine. Ctrl+C and SIGTERM end the app normally, and the
root goes at exit. (``app.py`` also makes gradio's upload folder itself such a root, for the same reasons.)
"""
from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Iterator

try:
    import fcntl
except ImportError:  # Windows: no flock; nothing is swept there, each app still removes its own root
    fcntl = None

PREFIX = "genrelens-sessions-"


class SessionFolders:
    """Each session's folder and uploads under this app's locked root in ``base``.

    ``fresh(session)`` gives a session a new, empty folder (its previous one removed); ``claim(session,
    *uploads)`` counts the session among the holders of gradio's shared upload paths; ``remove(session)``
    deletes its folder and each upload no other session holds; ``remove_all`` (at exit) deletes the root.

    Args:
        base: the folder the root is made in: gradio's upload folder (``gradio.utils.get_upload_folder()``),
            so returned files are served without a copy; default the system's temporary folder.
    """

    def __init__(self, base: str | Path | None = None, prefix: str = PREFIX):
        self.base = Path(base if base is not None else tempfile.gettempdir()).resolve()
        self.base.mkdir(parents=True, exist_ok=True)
        self.root, self._root_fd = _locked_root(self.base, prefix)
        self._folders: dict[str, Path] = {}
        self._claims: dict[Path, set[str]] = {}  # upload -> the sessions holding it
        self._lock = threading.Lock()
        atexit.register(self.remove_all)

    def fresh(self, session: str | None) -> Path:
        self.remove(session, uploads=False)
        folder = Path(tempfile.mkdtemp(prefix="session-", dir=self.root))
        with self._lock:
            self._folders[session or ""] = folder
        return folder

    def folder(self, session: str | None) -> Path | None:
        return self._folders.get(session or "")

    def claim(self, session: str | None, *uploads) -> None:
        """Count ``session`` among the holders of these uploads (paths; None is skipped): an upload is deleted
        when the last session holding it ends, so another session's copy of the same bytes is left alone. Only
        gradio's uploads count (``<base>/<content hash>/<name>``): never a session's own files, nor any other."""
        with self._lock:
            for upload in uploads:
                if upload and _is_upload(Path(upload), self.base):
                    self._claims.setdefault(Path(upload), set()).add(session or "")

    @contextlib.contextmanager
    def for_request(self) -> Iterator[Path]:
        """A folder for one API call (under the same root, so the sweep covers it), removed when it returns."""
        key = f"request-{uuid.uuid4().hex}"
        try:
            yield self.fresh(key)
        finally:
            self.remove(key)

    def remove(self, session: str | None, uploads: bool = True) -> None:
        key = session or ""
        with self._lock:
            folder = self._folders.pop(key, None)
            if uploads:
                for upload, holders in list(self._claims.items()):
                    holders.discard(key)
                    if not holders:  # under the lock: a session claiming it now would find it gone
                        del self._claims[upload]
                        _remove_upload(upload)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def remove_all(self) -> None:
        with self._lock:
            uploads, self._claims, self._folders = list(self._claims), {}, {}
            for upload in uploads:
                _remove_upload(upload)
        shutil.rmtree(self.root, ignore_errors=True)
        if self._root_fd is not None:
            os.close(self._root_fd)  # the lock goes with it
            self._root_fd = None


def _is_upload(path: Path, base: Path) -> bool:
    folder = path.parent.resolve()  # gradio names it by the upload's sha256
    return folder.parent == base and re.fullmatch("[0-9a-f]{64}", folder.name) is not None


def _remove_upload(upload: Path) -> None:
    """Delete an upload and the folder gradio made for it (``<base>/<content hash>/<name>``) once empty."""
    upload.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty: gradio put another name of the same bytes there
        upload.parent.rmdir()


def _lock(path: Path, blocking: bool) -> int | None:
    """An open descriptor of the folder ``path`` holding its exclusive flock, or None when another process
    holds it (or the folder cannot be opened: gone, a symbolic link, not ours)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        if os.fstat(fd).st_uid != os.getuid():
            raise OSError("another user's folder")
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except OSError:
        os.close(fd)
        return None
    return fd


def _locked_root(base: Path, prefix: str) -> tuple[Path, int | None]:
    # made and locked under a name the sweep does not match, then renamed: a sweep running now never sees
    # a root before it is locked
    staging = Path(tempfile.mkdtemp(prefix=f".{prefix}new-", dir=base))
    fd = _lock(staging, blocking=True) if fcntl is not None else None
    root = staging.with_name(prefix + staging.name.removeprefix(f".{prefix}new-"))
    os.rename(staging, root)
    return root, fd


def sweep(base: str | Path | None = None, prefix: str = PREFIX) -> list[Path]:
    """Remove the roots in ``base`` (default: the system's temporary folder) whose app is gone: no process
    holds their lock. Returns the roots removed. A live app's root, this process's included, is kept."""
    if fcntl is None:
        return []
    base = Path(base if base is not None else tempfile.gettempdir())
    removed = []
    for root in sorted(base.glob(prefix + "*")):
        fd = _lock(root, blocking=False)
        if fd is None:
            continue
        try:
            shutil.rmtree(root, ignore_errors=True)
            removed.append(root)
        finally:
            os.close(fd)
    return removed


def hide_paths(text: str, *folders: str | Path) -> str:
    """``text`` with every path inside ``folders`` cut to its file name (``/tmp/gradio/ab12/films.csv`` ->
    ``films.csv``): a message to a visitor never shows where the server keeps files."""
    for folder in folders:
        text = re.sub(re.escape(str(Path(folder))) + r"/(?:[^/\s'\"]+/)*", "", text)
    return text
