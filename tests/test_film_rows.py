"""A user's films CSV row by row: a bad cell costs its row, memory follows the columns read (issue 33)."""
from __future__ import annotations

import csv
import tracemalloc
from pathlib import Path

import pytest

from genre_models.data.film_rows import read_records, validate_records
from genre_models.errors import DataError

HEADER = ["id", "title", "year", "genres", "plot", "poster"]


def _csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_a_nul_byte_or_a_name_the_system_refuses_costs_its_row_only(tmp_path):
    root = tmp_path / "posters"
    root.mkdir()
    (root / "p.png").write_bytes(b"a poster")
    rows = [["f1", "Good", "", "Horror", "a ghost", "p.png"],
            ["n1", "Nul name", "", "Horror", "a ghost", "p\0.png"],
            ["n2", "Nul title\0", "", "Horror", "a ghost", "p.png"],
            ["l1", "Long part", "", "Horror", "a ghost", "x" * 300 + ".png"],
            ["l2", "Long path", "", "Horror", "a ghost", "d/" * 3000 + "p.png"],
            ["c1", "Control", "", "Horror", "a ghost", "p\x01.png"],
            ["f2", "Good too", "", "Horror", "a ghost", "p.png"]]
    records = read_records(_csv(tmp_path / "films.csv", rows))
    films, problems = validate_records(records, root, needs_poster=True)
    assert [f.id for f in films] == ["f1", "f2"] and films[1].poster == root / "p.png"
    assert problems == [
        "line 3: a NUL byte in column(s) poster; row skipped",
        "line 4: a NUL byte in column(s) title; row skipped",
        f"line 5: poster {'x' * 60 + '…'!r} cannot be looked up (File name too long); row skipped",
        f"line 6: poster {'d/' * 30 + '…'!r} cannot be looked up (File name too long); row skipped",
        "line 7: poster 'p\\x01.png' is not in the zip; row skipped"]
    assert not any(str(tmp_path) in p for p in problems)  # no server path in a message


def test_a_repeated_column_is_refused_before_any_row_is_read(tmp_path):
    path = _csv(tmp_path / "films.csv", [["f1", "A", "", "Horror", "ghost", "", "Comedy", "fun"]],
                HEADER + ["genres", "plot"])
    with pytest.raises(DataError, match=r"^line 1: column name\(s\) 'genres', 'plot' appear more than once"):
        read_records(path)


def test_an_absurd_header_is_refused_in_one_line(tmp_path):
    path = _csv(tmp_path / "films.csv", [["f1", "A", "", "Horror", "ghost"]] * 2000,
                HEADER + [f"c{i}" for i in range(100_000)])
    with pytest.raises(DataError, match=r"^line 1: the header is over 10,000 characters; the limits are 256 columns"):
        read_records(path)


def _held(path: Path) -> tuple[int, list]:
    tracemalloc.start()
    try:
        records = read_records(path)
        return tracemalloc.get_traced_memory()[0], records
    finally:
        tracemalloc.stop()


def test_memory_follows_the_rows_and_the_columns_read_not_the_header(tmp_path):
    rows = [[f"f{i}", f"Film {i}", "2000", "Horror", f"a ghost {i}", ""] for i in range(2000)]
    narrow = _csv(tmp_path / "narrow.csv", rows)
    extra = [f"c{i}" for i in range(240)]  # within the header's limit: a spreadsheet's own columns
    wide = _csv(tmp_path / "wide.csv", [row + [f"v{i}" for i in range(240)] for row in rows], HEADER + extra)
    held_narrow, _ = _held(narrow)
    held_wide, records = _held(wide)
    assert list(records[0].cells) == HEADER and records[0].problem is None
    assert held_wide < 1.2 * held_narrow, (held_wide, held_narrow)


def test_genres_written_with_another_separator_are_told_to_use_a_bar(tmp_path):
    """Issue 35: "Horror, Mystery" is not one unknown genre without a word on how genres are separated."""
    rows = [["c1", "Comma", "", "Horror, Mystery", "a ghost", ""],
            ["s1", "Semicolon", "", "Horror;Sci-Fi", "a ghost", ""],
            ["w1", "Space", "", "Horror Mystery", "a ghost", ""],
            ["f1", "Full-width", "", "Horror\uff0cComedy", "a ghost", ""],
            ["u1", "Unknown", "", "Spaghetti", "a ghost", ""],
            ["u2", "Two words", "", "Horror Spaghetti", "a ghost", ""],
            ["u3", "A link", "", "http://a.b", "a ghost", ""],
            ["ok", "Bars", "", "Horror|Mystery", "a ghost", ""]]
    films, problems = validate_records(read_records(_csv(tmp_path / "films.csv", rows)))
    assert [f.id for f in films] == ["ok"] and films[0].genres == ["Horror", "Mystery"]
    assert problems == [
        "line 2: unknown genre 'Horror, Mystery' (genres are separated by '|', as in 'Horror|Mystery'); row skipped",
        "line 3: unknown genre 'Horror;Sci-Fi' (genres are separated by '|', as in 'Horror|Sci-Fi'); row skipped",
        "line 4: unknown genre 'Horror Mystery' (genres are separated by '|', as in 'Horror|Mystery'); row skipped",
        "line 5: unknown genre 'Horror\uff0cComedy' (genres are separated by '|', as in 'Horror|Comedy'); row skipped",
        "line 6: unknown genre 'Spaghetti'; row skipped",  # one name: nothing to separate
        "line 7: unknown genre 'Horror Spaghetti'; row skipped",  # not two genres: perhaps one name
        "line 8: unknown genre 'http://a.b'; row skipped"]  # split on '/', no genre among the pieces
