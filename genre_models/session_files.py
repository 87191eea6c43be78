"""One temporary folder per browser session, for what a session uploads and unpacks (the "Your films"
tab's zip and predictions), removed when the session ends: the page's unload, or the app's exit.

Gradio's own cache keeps uploads for an hour (``delete_cache``); an unpacked zip of posters can be far
larger than the upload, so it goes as soon as the page is closed, with the uploads the session named.
"""
from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from pathlib import Path


class SessionFolders:
    """``fresh(session)`` gives a session a new, empty folder (its previous one removed);
    ``remove(session)`` deletes it and the files ``track`` named; ``remove_all`` at exit."""

    def __init__(self, prefix: str = "genrelens-films-"):
        self.prefix = prefix
        self._folders: dict[str, Path] = {}
        self._files: dict[str, set[Path]] = {}
        self._lock = threading.Lock()
        atexit.register(self.remove_all)

    def fresh(self, session: str | None) -> Path:
        self.remove(session, files=False)
        folder = Path(tempfile.mkdtemp(prefix=self.prefix))
        with self._lock:
            self._folders[session or ""] = folder
        return folder

    def track(self, session: str | None, *paths) -> None:
        """Files (uploads) to delete with the session's folder."""
        with self._lock:
            self._files.setdefault(session or "", set()).update(Path(p) for p in paths if p)

    def folder(self, session: str | None) -> Path | None:
        return self._folders.get(session or "")

    def remove(self, session: str | None, files: bool = True) -> None:
        with self._lock:
            folder = self._folders.pop(session or "", None)
            tracked = self._files.pop(session or "", set()) if files else set()
        for path in tracked:  # the uploads first: once the folder is gone, everything is
            path.unlink(missing_ok=True)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def remove_all(self) -> None:
        for session in list(self._folders) + list(self._files):
            self.remove(session)
