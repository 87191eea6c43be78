"""Posters: fetched, verified to decode, normalised to RGB JPEG, de-duplicated by content."""
from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

from ..inputs import InvalidImageError, load_poster

PLACEHOLDERS = {"", "n/a", "na", "none"}


@dataclass
class PosterResult:
    path: Path | None
    skip_reason: str | None = None


class PosterStore:
    """Writes ``<folder>/<imdb id>.jpg``; remembers the downloaded files' sha256 so one image is kept once."""

    def __init__(self, folder: Path, max_side: int = 500, quality: int = 90):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_side = max_side
        self.quality = quality
        self.index = self.folder / ".hashes.json"  # a resumed run knows what it already kept
        self.hashes: dict[str, str] = json.loads(self.index.read_text()) if self.index.is_file() else {}

    def path_for(self, imdb_id: str) -> Path:
        return self.folder / f"{imdb_id}.jpg"

    def add(self, imdb_id: str, url: str | None, fetch) -> PosterResult:
        """Fetch (``fetch(url) -> httpx.Response``), check and store one film's poster."""
        target = self.path_for(imdb_id)
        if target.is_file():
            return PosterResult(target)
        if url is None or url.strip().lower() in PLACEHOLDERS:
            return PosterResult(None, "no poster (N/A)")
        try:
            response = fetch(url)
        except OSError as exc:
            return PosterResult(None, str(exc))
        if response.status_code != 200:
            return PosterResult(None, f"poster URL answered HTTP {response.status_code}")
        try:
            image = load_poster(response.content)
        except InvalidImageError as exc:
            kind = response.headers.get("content-type", "unknown type")
            return PosterResult(None, f"poster is not a usable image ({kind}): {exc}")
        digest = hashlib.sha256(response.content).hexdigest()
        if digest in self.hashes and self.hashes[digest] != imdb_id:
            return PosterResult(None, f"same poster as {self.hashes[digest]}")
        image.thumbnail((self.max_side, self.max_side))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=self.quality, optimize=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(buffer.getvalue())
        tmp.replace(target)
        self.hashes[digest] = imdb_id
        self.index.write_text(json.dumps(self.hashes))
        return PosterResult(target)
