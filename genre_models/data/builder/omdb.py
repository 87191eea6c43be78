"""A polite OMDb client: rate limit, daily limit, retries with backoff, and an on-disk cache.

Every answer for a film (found, or a definite "not found") is cached as JSON under ``cache_dir``, keyed
by the IMDb id alone, so a rerun or an interrupted run never asks again. Any other refusal
(OMDb's passing "Error getting data.", or words it may use tomorrow) is not cached: a later run asks again. The API key is sent as a query
parameter and is never written to the cache, to logs or into error messages: text that comes back
from the server is scrubbed of it first (a server may echo it in an error). Posters are streamed and
cut off past a size limit, so a huge or endless response costs no more than the limit.
"""
from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import httpx

from ...errors import BuilderError

DEFAULT_URL = "https://www.omdbapi.com/"
RETRY_STATUS = {429, 500, 502, 503, 504}
MAX_POSTER_BYTES = 20 * 2**20  # an OMDb poster is ~100 KB; anything this big is not a poster
# OMDb's refusals that will be the same tomorrow ("Movie not found!", "Incorrect IMDb ID."): only these are
# cached. Anything else it says without a film may pass ("Error getting data." when its backend hiccups),
# so it is asked again on a later run, never remembered as the film's answer.
LASTING_REFUSALS = ("not found", "incorrect imdb id")


def lasting(error: str) -> bool:
    """Whether OMDb's error text says the film is not there (cached), rather than that it failed now."""
    return any(words in error.lower() for words in LASTING_REFUSALS)


class OmdbFatalError(BuilderError):
    """Stop the whole run: invalid key, daily limit reached, or the service keeps failing."""


class _RetriesExhausted(Exception):
    """Every attempt failed (or one failed that retrying cannot mend); the message is the last reason."""

    def __init__(self, reason: str, tries: int):
        super().__init__(reason)
        self.tries = tries


class _TooLarge(Exception):
    """A poster response past the size limit (not retried)."""


@dataclass
class OmdbAnswer:
    imdb_id: str
    data: dict | None  # OMDb's JSON when found
    skip_reason: str | None = None  # why there is no film (OMDb's own error text)
    from_cache: bool = False
    transient: bool = False  # a refusal that may pass: not cached, asked again on a later run


class RateLimiter:
    """At most ``rate`` requests per second (thread-safe)."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            if now < self._next:
                time.sleep(self._next - now)
            self._next = max(now, self._next) + self.interval


class OmdbClient:
    def __init__(self, api_key: str, cache_dir: str | Path, base_url: str = DEFAULT_URL, rate: float = 5.0,
                 daily_limit: int = 1000, timeout: float = 10.0, retries: int = 4, backoff: float = 1.0,
                 max_poster_bytes: int = MAX_POSTER_BYTES):
        if not api_key:
            raise OmdbFatalError("no OMDb API key: pass --api-key or set OMDB_API_KEY "
                                 "(free keys: https://www.omdbapi.com/apikey.aspx)")
        self._key = api_key
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.base_url = base_url
        self.limiter = RateLimiter(rate)
        self.daily_limit = daily_limit
        self.retries = retries
        self.backoff = backoff
        self.http = httpx.Client(timeout=timeout, follow_redirects=True,
                                 headers={"User-Agent": "GenreLens dataset builder"})
        self.max_poster_bytes = max_poster_bytes
        self.requests_made = 0
        self.notes: list[str] = []  # things the run's report should say (an unreadable usage file)

    def scrub(self, text: str) -> str:
        """``text`` with the API key (as sent, or URL-encoded) replaced by ``***``."""
        from urllib.parse import quote, quote_plus
        for form in {self._key, quote(self._key, safe=""), quote_plus(self._key)}:
            text = text.replace(form, "***")
        return text

    def close(self) -> None:
        self.http.close()

    # -- daily budget, kept on disk so that several runs on one day share it -----------------------
    def _usage_path(self) -> Path:
        return self.cache_dir / f"usage-{dt.datetime.now(dt.timezone.utc):%Y-%m-%d}.json"

    def used_today(self) -> int:
        path = self._usage_path()
        if not path.is_file():
            return 0
        try:
            return int(json.loads(path.read_text())["requests"])
        except (ValueError, KeyError, TypeError):  # cut short by a crash, or edited by hand
            # every answer is cached as it arrives: today's cache files are a floor for today's requests
            today = dt.datetime.now(dt.timezone.utc).date()
            answers = sum(1 for p in self.cache_dir.glob("tt*.json")
                          if dt.datetime.fromtimestamp(p.stat().st_mtime, dt.timezone.utc).date() == today)
            note = (f"{path.name} was unreadable; counted today's {answers} cached answers as today's requests "
                    "and rewrote it")
            if note not in self.notes:
                self.notes.append(note)
            self._write_usage(answers)
            return answers

    def _write_usage(self, requests: int) -> None:
        tmp = self._usage_path().with_suffix(".tmp")  # renamed into place: a crash never leaves half a file
        tmp.write_text(json.dumps({"requests": requests}))
        tmp.replace(self._usage_path())

    def _count_request(self) -> None:
        self.requests_made += 1
        self._write_usage(self.used_today() + 1)

    # -- lookups ------------------------------------------------------------------------------------
    def _cache_path(self, imdb_id: str) -> Path:
        return self.cache_dir / f"{imdb_id}.json"

    def cached(self, imdb_id: str) -> OmdbAnswer | None:
        path = self._cache_path(imdb_id)
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text())
        except ValueError:  # written by something else or cut short: ask again
            path.unlink()
            return None
        if data.get("Response") == "False":
            error = str(data.get("Error", "not found"))
            if not lasting(error):  # a passing error an older version cached: ask again
                path.unlink()
                return None
            return OmdbAnswer(imdb_id, None, error, from_cache=True)
        return OmdbAnswer(imdb_id, data, from_cache=True)

    def lookup(self, imdb_id: str) -> OmdbAnswer:
        """The film's OMDb record (``?i=ID&plot=full``), from the cache when it is there."""
        hit = self.cached(imdb_id)
        if hit is not None:
            return hit
        text = self.scrub(json.dumps(self._get({"i": imdb_id, "plot": "full", "r": "json"})))
        data = json.loads(text)
        if not isinstance(data, dict):
            raise OmdbFatalError(f"OMDb answered {imdb_id} with JSON that is not a record")
        if data.get("Response") == "False":
            error = str(data.get("Error", "unknown error"))
            if "api key" in error.lower() or "limit" in error.lower():
                raise OmdbFatalError(f"OMDb refused the request: {error}")
            if not lasting(error):
                return OmdbAnswer(imdb_id, None, error, transient=True)  # not cached: asked again next run
            answer = OmdbAnswer(imdb_id, None, error)
        else:
            answer = OmdbAnswer(imdb_id, data)
        tmp = self._cache_path(imdb_id).with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(self._cache_path(imdb_id))
        return answer

    def _get(self, params: dict) -> dict:
        if self.used_today() >= self.daily_limit:
            raise OmdbFatalError(f"daily limit of {self.daily_limit} OMDb requests reached; run again "
                                 "tomorrow, the cache keeps everything fetched so far")

        def send() -> httpx.Response:
            self.limiter.wait()
            self._count_request()  # every attempt counts against the daily budget
            return self.http.get(self.base_url, params={**params, "apikey": self._key})

        def check(response: httpx.Response) -> str | None:
            if response.status_code == 401:
                raise OmdbFatalError("OMDb refused the API key (HTTP 401)")
            if response.status_code != 200:
                raise OmdbFatalError(f"OMDb answered HTTP {response.status_code}")
            try:
                response.json()
            except ValueError:
                return "answer was not JSON"
            return None

        try:
            return self._with_retries(send, check).json()
        except _RetriesExhausted as exc:
            tries = f"after {exc.tries} tries" if exc.tries > 1 else "(not retried)"
            raise OmdbFatalError(self.scrub(f"OMDb kept failing for {params.get('i')}: {exc} {tries}")) from None

    def download(self, url: str) -> httpx.Response:
        """GET a poster URL with the same retries (no API key involved), read up to ``max_poster_bytes``."""
        try:
            return self._with_retries(lambda: self._get_bounded(url))
        except _RetriesExhausted as exc:
            raise OSError(self.scrub(f"poster download failed: {exc}")) from None

    def _get_bounded(self, url: str) -> httpx.Response:
        """The response with its body read, refused as soon as it is known to pass the limit."""
        limit = self.max_poster_bytes
        with self.http.stream("GET", url) as response:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise _TooLarge(f"poster is {int(declared) / 2**20:.1f} MB, over the {limit / 2**20:g} MB limit")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > limit:
                    raise _TooLarge(f"poster is over the {limit / 2**20:g} MB limit")
            return httpx.Response(response.status_code, headers=response.headers, content=bytes(body),
                                  request=response.request)

    def _with_retries(self, send: Callable[[], httpx.Response],
                      check: Callable[[httpx.Response], str | None] = lambda r: None) -> httpx.Response:
        """Send until an answer passes: timeouts, network errors, 429/5xx and ``check``'s reasons are
        retried with exponential backoff; ``check`` may also raise to stop at once."""
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = send()
            except httpx.TimeoutException:
                last = "timed out"
                continue
            except httpx.TooManyRedirects:
                raise _RetriesExhausted("redirected in a loop", attempt + 1) from None
            except httpx.TransportError as exc:
                last = f"network error ({type(exc).__name__})"
                continue
            except _TooLarge as exc:
                raise _RetriesExhausted(str(exc), attempt + 1) from None
            except (httpx.HTTPError, httpx.InvalidURL) as exc:  # a malformed URL or answer: retrying won't mend it
                raise _RetriesExhausted(f"unusable request or answer ({type(exc).__name__})", attempt + 1) from None
            if response.status_code in RETRY_STATUS:
                last = f"HTTP {response.status_code}"
                continue
            last = check(response) or ""
            if not last:
                return response
        raise _RetriesExhausted(last, self.retries + 1)
