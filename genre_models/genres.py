"""The 18 canonical genres of the GenreLens data and the names other sources use for them.

TMDB and IMDb spell a few genres differently ("Science Fiction", "Musical"); every loader maps
names through :func:`canonical_genre` so a head trained on one source answers for another.
"""
from __future__ import annotations

import unicodedata
from typing import Iterable

from .errors import InvalidInputError, UnknownGenreError
from .data.inputs import visible_text

GENRES: tuple[str, ...] = (
    "Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama", "Family",
    "Fantasy", "History", "Horror", "Music", "Mystery", "Romance", "Sci-Fi", "Thriller", "War",
    "Western",
)

# Source spelling (lower-cased) -> canonical name.
ALIASES: dict[str, str] = {
    "science fiction": "Sci-Fi",
    "science-fiction": "Sci-Fi",
    "scifi": "Sci-Fi",
    "sci fi": "Sci-Fi",
    "musical": "Music",
    "animated": "Animation",
    "historical": "History",
    "documentaries": "Documentary",
}

# Genres the sources use that the thesis dropped on purpose (not errors, just not predicted).
DROPPED: frozenset[str] = frozenset(
    {"tv movie", "foreign", "biography", "sport", "short", "news", "reality-tv", "talk-show",
     "game-show", "adult", "film-noir"}
)

_BY_LOWER = {g.lower(): g for g in GENRES}


def unknown_genres(names: list[str]) -> UnknownGenreError:
    """The error for names that are not genres, listing the valid names and aliases."""
    return UnknownGenreError(names, GENRES, ALIASES)


def canonical_genre(name: str) -> str | None:
    """Map a source genre name to its canonical spelling.

    Returns None for a genre the thesis drops on purpose (e.g. "TV Movie"); raises
    UnknownGenreError for anything else it does not know.
    """
    key = (visible_text(name) or "").lower()
    if key in _BY_LOWER:
        return _BY_LOWER[key]
    if key in ALIASES:
        return ALIASES[key]
    if key in DROPPED:
        return None
    raise unknown_genres([name])


def resolve_genres(names: Iterable[str] | None) -> tuple[str, ...]:
    """Validate a user's list of canonical genres (aliases allowed), keeping their order.

    None or an empty list means all 18 genres. Unknown names are reported together.
    """
    if names is None:
        return GENRES
    resolved: list[str] = []
    unknown: list[str] = []
    for name in names:
        if not name.strip():
            continue
        try:
            genre = canonical_genre(name)
        except UnknownGenreError:
            unknown.append(name)
            continue
        if genre is None:
            unknown.append(name)
        elif genre not in resolved:
            resolved.append(genre)
    if unknown:
        raise unknown_genres(unknown)
    return tuple(resolved) or GENRES


# Custom genres are scored by zero-shot models, one prompt set each, and shown on the page: bounded,
# and plain words only (a name is shown as typed, so it must not carry markup).
MAX_CUSTOM_GENRES = 30
MAX_GENRE_CHARS = 50
GENRE_PUNCTUATION = " '&/.-"


def is_genre_name(name: str) -> bool:
    """Whether ``name`` (NFC) is words in any script: it starts with a letter or digit, then letters, digits,
    combining marks (Hindi's vowel signs, a decomposed accent: category M), the zero-width (non-)joiners
    that shape Indic and Persian words, and ``GENRE_PUNCTUATION``. No "_" or markup (a name is shown as
    typed, in Markdown)."""
    if not name or unicodedata.category(name[0])[0] not in "LN":
        return False
    return all(unicodedata.category(c)[0] in "LNM" or c in GENRE_PUNCTUATION or c in "\u200c\u200d"
               for c in name[1:])


def parse_custom_genres(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """Free-text genre names for zero-shot scoring ("heist, mockumentary, space opera").

    Canonical names and aliases are normalised; anything else is kept as typed (trimmed, in NFC,
    invisible characters dropped: ``genre_models.data.inputs.visible_text``), because zero-shot models can score any
    phrase. A name of invisible characters only is no name. Duplicates are removed, order is kept.
    """
    if text is None:
        return ()
    if isinstance(text, str) and len(text) > MAX_CUSTOM_GENRES * (MAX_GENRE_CHARS + 2):
        raise InvalidInputError(f"custom genres: {len(text):,} characters is too long; at most "
                                f"{MAX_CUSTOM_GENRES} genres of up to {MAX_GENRE_CHARS} characters each")
    parts = text.replace("\n", ",").split(",") if isinstance(text, str) else list(text)
    out: list[str] = []
    seen: set[str] = set()
    for part in parts:
        name = visible_text(str(part))
        if not name:
            continue
        if len(name) > MAX_GENRE_CHARS:
            raise InvalidInputError(f"custom genre {name[:20]!r}… is {len(name)} characters; the limit is {MAX_GENRE_CHARS}")
        if not is_genre_name(name):
            raise InvalidInputError(f"custom genre {name!r}: use letters, digits, spaces and - ' & / . only")
        try:
            name = canonical_genre(name) or name
        except UnknownGenreError:
            pass
        if name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
            if len(out) > MAX_CUSTOM_GENRES:
                raise InvalidInputError(f"at most {MAX_CUSTOM_GENRES} custom genres at once")
    return tuple(out)
