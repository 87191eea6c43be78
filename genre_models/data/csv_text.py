"""The films CSV as text: read one record at a time within fixed bounds, and written inert.

Reading (:class:`CsvRecords`) keeps nothing but the record in hand, so what a reader holds is bounded
by the columns GenreLens reads (:data:`COLUMNS`, :meth:`CsvRecords.pick`), whatever the file's width.
The header is refused past :data:`MAX_COLUMNS` columns or :data:`MAX_HEADER_CHARS` characters, or when
a name repeats: two ``genres`` columns leave no right one to score against (pandas would rename the
second ``genres.1``; a dict would keep the last). A record is read at most :data:`MAX_RECORD_CHARS`
characters at a time, so a row of a million cells, or a quote never closed, is refused by its line
without ever being held whole.

Writing (:func:`inert_cell`): a cell a spreadsheet would run as a formula gets a leading ``'``, OWASP's
advice ("CSV Injection"; ASVS 1.2.10); :func:`plain_cell` undoes exactly that on reading, so a file
GenreLens wrote (the dataset builder's ``movies.csv``) reads back as it was before.
"""
from __future__ import annotations

import csv
import itertools
import unicodedata
from collections import Counter
from typing import IO, Iterator

from ..errors import DataError
from .inputs import invisible

COLUMNS = ("id", "title", "year", "genres", "plot", "poster")  # what GenreLens reads; other columns are ignored
MAX_COLUMNS = 256  # a spreadsheet export with many columns of its own is fine; 100,000 is not a films table
MAX_HEADER_CHARS = 10_000
# Well above a row at the app's limits (a plot of 20,000 characters, the five other cells); csv's own
# field limit (131,072 characters) holds each cell, this holds their number.
MAX_RECORD_CHARS = 1_000_000
FORMULA_SIGNS = {"=", "+", "-", "@"}
FORMULA_CONTROLS = ("\t", "\r", "\n", "\0")  # a cell starting with one is read as the formula after it
_HEADER_LIMITS = (f"the limits are {MAX_COLUMNS} columns and {MAX_HEADER_CHARS:,} characters "
                  f"(GenreLens reads {','.join(COLUMNS)})")


class _RecordTooLong(Exception):
    pass


class _Lines:
    """The handle's lines for ``csv.reader``, stopping once the record in hand passes ``allow``'s bound.

    csv.reader asks for a line only when its record needs one, so the bound is per record; a line is
    read at most that many characters at a time, so one without a newline is never held whole either.
    """

    def __init__(self, handle: IO[str]):
        self.handle, self.left = handle, 0

    def allow(self, chars: int) -> None:
        self.left = chars

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        line = self.handle.readline(self.left + 1)
        if not line:
            raise StopIteration
        self.left -= len(line)
        if self.left < 0:
            raise _RecordTooLong
        return line


class CsvRecords:
    """A films CSV's header and data records, read lazily from a handle opened with ``newline=""``.

    ``header``: the column names, stripped, without trailing empty ones (a stray delimiter). Iterating
    yields ``(line, cells)``: the CSV line the record starts on (the header is line 1) and all its cells.

    Raises:
        DataError: ``line N: ...`` for a header over :data:`MAX_COLUMNS` columns or
            :data:`MAX_HEADER_CHARS` characters, a repeated column name, a record over
            :data:`MAX_RECORD_CHARS` characters, or text csv cannot parse. UnicodeDecodeError passes
            through (each reader names the file its own way).
    """

    def __init__(self, handle: IO[str]):
        self._lines = _Lines(handle)
        self._reader = csv.reader(self._lines)
        self._lines.allow(MAX_HEADER_CHARS)
        try:
            names = next(self._reader, [])
        except _RecordTooLong:
            raise DataError(f"line 1: the header is over {MAX_HEADER_CHARS:,} characters; {_HEADER_LIMITS}") from None
        except csv.Error as exc:
            raise DataError(f"line 1: not readable as CSV ({exc})") from None
        while names and not names[-1].strip():
            names.pop()
        if len(names) > MAX_COLUMNS:
            raise DataError(f"line 1: the header has {len(names):,} columns; {_HEADER_LIMITS}")
        # a name as a person reads it: NFKC (full-width letters), invisible characters dropped (a byte-order
        # mark or zero-width space inside it), case folded, so "GENRES" is the genres column, not a second
        # one beside it that would be silently ignored
        self.header = [column_name(name) for name in names]
        repeated = [name for name, n in Counter(filter(None, self.header)).items() if n > 1]
        if repeated:
            raise DataError(f"line 1: column name(s) {', '.join(map(shown, repeated))} appear more than once; "
                            "name each column once")
        self._index = {name: i for i, name in enumerate(self.header) if name in COLUMNS}

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        start = self._reader.line_num + 1
        while True:
            self._lines.allow(MAX_RECORD_CHARS)
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except _RecordTooLong:
                raise DataError(f"line {start}: a row longer than {MAX_RECORD_CHARS:,} characters (a quote never "
                                f"closed?); the limit is {MAX_RECORD_CHARS:,}") from None
            except csv.Error as exc:
                raise DataError(f"line {start}: not readable as CSV ({exc})") from None
            yield start, cells
            start = self._reader.line_num + 1

    @property
    def columns(self) -> list[str]:
        """The :data:`COLUMNS` the header has, in its order: the keys of :meth:`pick`'s answer."""
        return list(self._index)

    def pick(self, cells: list[str]) -> dict[str, str | None]:
        """The cells of the :data:`COLUMNS` the header has, by name, through :func:`plain_cell`; None
        where the record ends before that column."""
        return {name: plain_cell(cells[i]) if i < len(cells) else None for name, i in self._index.items()}


def column_name(name: str) -> str:
    """A header cell as the column name GenreLens matches: NFKC, invisible characters dropped, whitespace
    folded, case folded (``"\ufeffＧenres "`` is ``"genres"``)."""
    return " ".join("".join(c for c in unicodedata.normalize("NFKC", name) if not invisible(c)).split()).casefold()


def cell_problem(cells: dict[str, str | None]) -> str | None:
    """Why a record's picked cells cannot be used as text (a NUL byte: binary, not a film), or None."""
    bad = [name for name, text in cells.items() if text and "\0" in text]
    return f"a NUL byte in column(s) {', '.join(bad)}" if bad else None


def inert_cell(value: object) -> str:
    """``value`` as text no spreadsheet runs as a formula: with a leading ``'`` when it starts with a
    tab, carriage return, line feed or NUL, or when its first character past whitespace, controls and
    invisible characters is ``= + - @`` in any compatibility form (NFKC: ``＝`` is ``=``). Idempotent;
    None is an empty cell."""
    text = "" if value is None else str(value)
    first = next(itertools.dropwhile(lambda c: invisible(c) or unicodedata.category(c) == "Cc", text), "")
    if text.startswith(FORMULA_CONTROLS) or unicodedata.normalize("NFKC", first)[:1] in FORMULA_SIGNS:
        return "'" + text
    return text


def plain_cell(text: str) -> str:
    """The inverse of :func:`inert_cell`: its leading ``'`` removed where it added one."""
    return text[1:] if text.startswith("'") and inert_cell(text[1:]) != text[1:] else text


def shown(text: str, limit: int = 60) -> str:
    """``text`` quoted for a one-line message (``repr``: controls escaped), cut to ``limit`` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "…")
