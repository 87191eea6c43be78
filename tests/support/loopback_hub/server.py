"""A model hub on 127.0.0.1 that ``huggingface_hub`` talks to as it talks to huggingface.co.

Point ``HF_ENDPOINT`` at it and timm, open_clip, transformers and ``python -m genre_models.download``
resolve, download, cache and resume files exactly as they would from the real hub; nothing in the
product changes, only the endpoint. It answers the part of the protocol those libraries use
(read from ``huggingface_hub.file_download`` and ``hf_api``):

- ``HEAD``/``GET /{repo}/resolve/{revision}/{file}``: small files with ``200``, ``Content-Length``,
  ``ETag`` and ``X-Repo-Commit``; large (LFS) files with a ``302`` to ``/cdn/{sha256}`` on a second
  port (another origin, as the real CDN is: ``huggingface_hub`` follows redirects only on the hub's own
  origin and reads the metadata from the redirect itself), carrying ``X-Linked-Etag``/``X-Linked-Size``
  as the real hub's redirect does; a missing file or repo
  with ``404`` and ``X-Error-Code: EntryNotFound``/``RepoNotFound``;
- ``GET /cdn/{sha256}`` (the second port) with ``Range`` support (``206``), which is how an interrupted download resumes;
- ``GET /api/models/{repo}[/revision/{rev}]`` (model info with file sizes, ``blobs=True``) and
  ``/api/models/{repo}/tree/{rev}`` (file listing).

Repos are folders under ``root`` (``root/timm/vit_base_patch16_clip_224.openai/open_clip_model.safetensors``);
:mod:`tests.support.loopback_hub.repos` fills them. Any other folder can be served as a repo as it is
(``folders``: a heads folder ``reproduce --out`` wrote, served as ``OWNER/NAME``). Every request is logged (method, path, range) so
tests can check what a client asked for. ``throttle`` (bytes/s) slows file bodies so a test can
interrupt a download half-way; ``drop_next_download`` cuts one transfer off as a network failure would.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlparse

# The real hub stores files above this size in LFS and redirects their downloads to a CDN.
LFS_THRESHOLD = 10 * 1024 * 1024
CHUNK = 1 << 20


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    range: str | None
    status: int


@dataclass(frozen=True)
class RepoFile:
    repo: str
    name: str
    path: Path
    size: int
    sha256: str

    @property
    def lfs(self) -> bool:
        return self.size > LFS_THRESHOLD or self.name.endswith((".safetensors", ".bin"))


class RepoIndex:
    """The repos under ``root``, and ``folders`` (repo id -> folder) served as they are: files, their
    sha256 (cached beside a built repo, read at start for a given folder) and a commit id per repo."""

    def __init__(self, root: str | Path, folders: dict[str, Path] | None = None):
        self.root = Path(root)
        self.folders = {repo: Path(folder) for repo, folder in (folders or {}).items()}
        self._files: dict[str, dict[str, RepoFile]] = {}
        self._commits: dict[str, str] = {}
        self._blobs: dict[str, RepoFile] = {}
        self.refresh()

    def refresh(self) -> None:
        files, commits, blobs = {}, {}, {}
        listed = [(marker.parent.relative_to(self.root).as_posix(), marker.parent,
                   json.loads(marker.read_text())["files"]) for marker in sorted(self.root.glob("**/.repo.json"))]
        listed += [(repo, folder, scan_folder(folder)) for repo, folder in self.folders.items()]
        for repo, folder, listing in listed:
            entries = {name: RepoFile(repo, name, folder / name, info["size"], info["sha256"])
                       for name, info in listing.items()}
            files[repo] = entries
            commits[repo] = hashlib.sha1(json.dumps(listing, sort_keys=True).encode()).hexdigest()
            blobs.update({f.sha256: f for f in entries.values()})
        self._files, self._commits, self._blobs = files, commits, blobs

    def repos(self) -> list[str]:
        return sorted(self._files)

    def files(self, repo: str) -> dict[str, RepoFile] | None:
        return self._files.get(repo)

    def commit(self, repo: str) -> str:
        return self._commits[repo]

    def blob(self, sha256: str) -> RepoFile | None:
        return self._blobs.get(sha256)


def scan_folder(folder: Path) -> dict[str, dict]:
    """Every file of a repo folder (relative path -> size and sha256); dot-files are left out: they
    are bookkeeping (the marker, the builder's recipe), as ``.git`` is for a real repo."""
    files = {}
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()
                       and not any(part.startswith(".") for part in p.relative_to(folder).parts)):
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(CHUNK), b""):
                digest.update(block)
        files[path.relative_to(folder).as_posix()] = {"size": path.stat().st_size, "sha256": digest.hexdigest()}
    return files


def write_repo_marker(folder: Path) -> None:
    """Record every file of a repo folder with its size and sha256 (what the server answers from)."""
    (folder / ".repo.json").write_text(json.dumps({"files": scan_folder(folder)}, indent=1))


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # the request log below replaces stderr lines
        pass

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_GET(self) -> None:
        self._dispatch(head=False)

    # -- routing -----------------------------------------------------------------------------------
    def _dispatch(self, head: bool) -> None:
        path = unquote(urlparse(self.path).path)
        parts = [p for p in path.split("/") if p]
        status = 404
        try:
            if parts[:1] == ["cdn"] and len(parts) == 2:
                status = self._send_blob(parts[1], head)
            elif parts[:2] == ["api", "models"]:
                status = self._send_api(parts[2:])
            elif "resolve" in parts[1:3]:
                at = parts.index("resolve")
                status = self._send_resolve("/".join(parts[:at]), parts[at + 1] if len(parts) > at + 1 else "",
                                            "/".join(parts[at + 2:]), head)
            else:
                status = self._error(404, "EntryNotFound", f"no route for {path}")
        except (BrokenPipeError, ConnectionResetError):
            status = 499  # the client went away mid-body (an interrupted download)
        finally:
            self.server.log(LoggedRequest(self.command, path, self.headers.get("Range"), status))

    def _error(self, code: int, error_code: str, message: str) -> int:
        body = json.dumps({"error": message}).encode()
        self.send_response(code)
        self.send_header("X-Error-Code", error_code)
        self.send_header("X-Error-Message", message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return code

    def _send_json(self, payload) -> int:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return 200

    def _send_api(self, rest: list[str]) -> int:
        index = self.server.index
        for split in ("revision", "tree"):
            if split in rest:
                repo, tail = "/".join(rest[:rest.index(split)]), split
                break
        else:
            repo, tail = "/".join(rest), ""
        files = index.files(repo)
        if files is None:
            return self._error(404, "RepoNotFound", f"Repository Not Found for url: /api/models/{repo}")
        commit = index.commit(repo)
        if tail == "tree":
            return self._send_json([{"type": "file", "path": f.name, "size": f.size, "oid": f.sha256,
                                     **({"lfs": {"oid": f.sha256, "size": f.size, "pointerSize": 134}}
                                        if f.lfs else {})} for f in files.values()])
        siblings = [{"rfilename": f.name, "size": f.size, "blobId": f.sha256[:40],
                     **({"lfs": {"sha256": f.sha256, "size": f.size, "pointerSize": 134}} if f.lfs else {})}
                    for f in files.values()]
        return self._send_json({"_id": commit[:24], "id": repo, "modelId": repo, "sha": commit,
                                "private": False, "disabled": False, "gated": False, "downloads": 0,
                                "likes": 0, "tags": ["genrelens-loopback"], "siblings": siblings})

    def _send_resolve(self, repo: str, revision: str, name: str, head: bool) -> int:
        index = self.server.index
        files = index.files(repo)
        if files is None:
            return self._error(404, "RepoNotFound", f"Repository Not Found for url: /{repo}")
        entry = files.get(name)
        commit = index.commit(repo)
        if entry is None:
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.send_header("X-Error-Message", "Entry not found")
            self.send_header("X-Repo-Commit", commit)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return 404
        if entry.lfs and self.server.cdn_port:
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.server.cdn_port}/cdn/{entry.sha256}")
            self.send_header("ETag", f'"{entry.sha256[:40]}"')
            self.send_header("X-Linked-Etag", f'"{entry.sha256}"')
            self.send_header("X-Linked-Size", str(entry.size))
            self.send_header("X-Repo-Commit", commit)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return 302
        return self._send_file(entry, head, {"X-Repo-Commit": commit, "ETag": f'"{entry.sha256}"'})

    def _send_blob(self, sha256: str, head: bool) -> int:
        entry = self.server.index.blob(sha256)
        if entry is None:
            return self._error(404, "EntryNotFound", "no such blob")
        return self._send_file(entry, head, {"ETag": f'"{entry.sha256}"'})

    def _send_file(self, entry: RepoFile, head: bool, headers: dict[str, str]) -> int:
        start, end = 0, entry.size - 1
        wanted = self.headers.get("Range")
        status = 200
        if wanted and wanted.startswith("bytes="):
            first, _, last = wanted[len("bytes="):].partition("-")
            try:
                start = int(first or 0)
                end = min(int(last), entry.size - 1) if last else entry.size - 1
            except ValueError:
                start, end = 1, 0  # not a range we understand: refused below, as a server would
            if start > end:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{entry.size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return 416
            status = 206
        self.send_response(status)
        for header, value in headers.items():
            self.send_header(header, value)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{entry.size}")
        self.end_headers()
        if head:
            return status
        throttle = self.server.throttle
        left = end - start + 1
        cut = self.server.take_drop() if status == 200 else None
        if cut is not None:  # a dropped connection: part of the body, then the socket closes
            left = min(left, cut)
            self.close_connection = True
        with entry.path.open("rb") as handle:
            handle.seek(start)
            step = min(CHUNK, max(1, throttle // 10)) if throttle else CHUNK
            while left > 0:
                block = handle.read(min(step, left))
                if not block:
                    break
                self.wfile.write(block)
                left -= len(block)
                if throttle:
                    time.sleep(len(block) / throttle)
        return status


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, index: RepoIndex, throttle: int | None, log: Callable[[LoggedRequest], None]):
        super().__init__(address, _Handler)
        self.index = index
        self.throttle = throttle
        self.log = log
        self.cdn_port: int | None = None
        self.drop_after: int | None = None
        self._drop_lock = threading.Lock()

    def take_drop(self) -> int | None:
        """Bytes to send before dropping this response's connection, once; None when no drop is armed."""
        with self._drop_lock:
            cut, self.drop_after = self.drop_after, None
            return cut


class LoopbackHub:
    """Serve the repos under ``root`` on 127.0.0.1 in a background thread.

        with LoopbackHub(root) as hub:
            env = {"HF_ENDPOINT": hub.endpoint}

    Args:
        root: folder of repo folders, each with a ``.repo.json`` (see :func:`write_repo_marker`).
        port: 0 picks a free port.
        throttle: bytes per second for file bodies (None: as fast as loopback goes).
        folders: more repos, repo id (``OWNER/NAME``) -> a folder served as it is (its files as they
            are when the hub starts).
    """

    def __init__(self, root: str | Path, port: int = 0, throttle: int | None = None,
                 folders: dict[str, str | Path] | None = None):
        self.index = RepoIndex(root, folders)
        self._requests: list[LoggedRequest] = []
        self._log_lock = threading.Lock()
        self._server = _Server(("127.0.0.1", port), self.index, throttle, self._log)
        self._cdn = _Server(("127.0.0.1", 0), self.index, throttle, self._log)
        self._server.cdn_port = self._cdn.server_port
        self._threads: list[threading.Thread] = []

    def _log(self, request: LoggedRequest) -> None:
        with self._log_lock:
            self._requests.append(request)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def requests(self) -> list[LoggedRequest]:
        with self._log_lock:
            return list(self._requests)

    def clear_log(self) -> None:
        with self._log_lock:
            self._requests.clear()

    def set_throttle(self, bytes_per_second: int | None) -> None:
        self._server.throttle = self._cdn.throttle = bytes_per_second

    def drop_next_download(self, after_bytes: int) -> None:
        """Cut the next whole-file download (on the CDN port: LFS weights) after ``after_bytes``, as a
        network failure would; huggingface_hub should then resume it with a Range request."""
        self._cdn.drop_after = after_bytes

    def start(self) -> "LoopbackHub":
        for server in (self._server, self._cdn):
            thread = threading.Thread(target=server.serve_forever, daemon=True, name="loopback-hub")
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop answering and close both ports: afterwards the hub is unreachable (connection refused)."""
        for server in (self._server, self._cdn):
            if self._threads:
                server.shutdown()
            server.server_close()

    def serve_forever(self) -> None:
        """Serve in the foreground (the CLI) until interrupted."""
        cdn = threading.Thread(target=self._cdn.serve_forever, daemon=True, name="loopback-cdn")
        cdn.start()
        self._server.serve_forever()

    def __enter__(self) -> "LoopbackHub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
