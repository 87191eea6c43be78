"""Issue 35, items 1, 7 and 8 (their numbers there): Your films' film counts, notices that hide a reason,
messages that repeat themselves.

Each replay runs in a fresh process, offline (``HF_HUB_OFFLINE=1``), with the shipped models that work
without a download (MiniLM, TF-IDF, the blend) beside ones whose weights are absent (CLIP ViT-B/16,
SigLIP 2, BiT, the fusion's CLIP ViT-L/14):

- 1: a CSV where posters are a minority (the issue's 17 films, 2 with posters, through the library with a
  zip; 20 films, 3 posters beside the CSV, through ``evaluate --all-films``; films with a poster and no
  plot): every model scores every film it can read, each row equal to that model run alone, a baseline
  beside each set of films, and a poster model that cannot run shrinks no one's films.
- 7: no poster (and nothing at all) with poster models whose weights are absent: the notice says the
  weights are missing, not only "needs a poster"; Why? of the fusion, with and without its plot part
  chosen: never "explained through its parts" while its poster part has no weights.
- 8: refused hub ids (the issue's, a path, an unknown timm name, one of 120 characters): one sentence
  naming the id once; genre cells separated by ``,`` ``;`` ``/`` or a space: a hint that genres are
  separated by ``|``; ``download`` offline: each model named once (SigLIP 2 fetches from its repo twice).
"""
from __future__ import annotations

import csv
import textwrap
from pathlib import Path

from .common import Kind, Outcome, measure

HEADER = ["id", "title", "year", "genres", "plot", "poster"]
TIMEOUT_S = 240
GENRES = ["Horror", "Comedy|Romance", "Sci-Fi", "Western", "Drama|Crime", "Comedy", "Horror|Mystery", "War"]
PLOTS = {"Horror": "a ghost haunts the old house and the family is terrified",
         "Comedy": "a clumsy man tries to win back his girlfriend with silly jokes",
         "Sci-Fi": "astronauts travel through space to an alien planet",
         "Western": "a gunslinger rides into a frontier town to face the outlaws",
         "Drama": "a family struggles after the death of the father",
         "War": "soldiers fight in the trenches of the great war"}


def _films(folder: Path, n: int, posters: set[int], plotless: set[int] = frozenset()) -> Path:
    """n films, posters named (and drawn, 32x48 PNGs beside the CSV and in posters.zip) for ``posters``."""
    import zipfile

    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "posters").mkdir(exist_ok=True)
    rows = []
    with zipfile.ZipFile(folder / "posters.zip", "w") as zf:
        for i in range(n):
            genres = GENRES[i % len(GENRES)]
            name = f"posters/f{i}.png" if i in posters else ""
            if name:
                Image.new("RGB", (32, 48), (40 * (i % 6), 90, 160)).save(folder / name)
                zf.write(folder / name, name)
            plot = "" if i in plotless else f"{PLOTS[genres.split('|')[0]]}, film {i}."
            rows.append([f"f{i}", f"Film {i}", "2000", genres, plot, name])
    path = folder / "films.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([HEADER, *rows])
    return path


def _child(code: str) -> dict:
    done = measure(textwrap.dedent(code), timeout=TIMEOUT_S)
    return done.result() or {"error": "no output", "rc": done.returncode}


# -- 1: each model on the films it can read -----------------------------------------------------------------

FILMS_CODE = """
    import contextlib, io, json
    from genre_models import ModelPool, evaluate
    from genre_models.comparison.your_films import evaluate_films
    from genre_models.training.report import TABLE_COLUMNS
    pool, out = ModelPool(), {{}}

    def table(result):
        return [[k or r.name, r.films, [r.metrics[m] for m, _ in TABLE_COLUMNS]] for k, r in zip(result.keys, result.results)]

    def alone(keys, *args, **kwargs):  # each model by itself: its row and the baselines on its films
        rows = {{}}
        for key in keys:
            rows[key] = table(evaluate_films(pool, [key], *args, **kwargs))
        return rows

    issue = ({issue_csv!r}, {issue_zip!r})
    keys = ["minilm", "tfidf", "minilm-tfidf", "clip-vit-b-16"]
    result = evaluate_films(pool, keys, *issue)
    out["issue"] = {{"table": table(result), "notes": result.notes, "skipped": result.skipped,
                    "alone": alone(keys[:3], *issue)}}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        rc = evaluate.main(["--all-films", "--data", {cli_csv!r}, "--models", "minilm", "clip-vit-b-16",
                            "--out", {cli_out!r}])
    saved = json.load(open({cli_out!r} + "/evaluation.json")) if rc == 0 else {{}}
    out["cli"] = {{"rc": rc, "printed": printed.getvalue()[-600:], "table": [[r["model"], r["films"]] for r in saved.get("table", [])],
                  "alone": alone(["minilm"], {cli_csv!r}, poster_root={cli_root!r})}}
    result = evaluate_films(pool, ["minilm", "clip-vit-b-16"], {plotless_csv!r}, {plotless_zip!r})
    out["plotless"] = {{"table": table(result), "skipped": result.skipped[:3], "notes": result.notes}}
    print(json.dumps(out))
"""


def _same_as_alone(table: list, alone: dict[str, list]) -> list[str]:
    """The models whose row, or a baseline beside it, differs from the model run alone (names aside)."""
    wrong = []
    for key, rows in alone.items():
        at = next((i for i, row in enumerate(table) if row[0] == key), None)
        mine = [table[at]] if at is not None else []
        mine += [row for row in table[(at or 0) + 1:] if row[0].startswith("baseline")][:len(rows) - 1]
        if [row[1:] for row in mine] != [row[1:] for row in rows]:
            wrong.append(f"{key}: {mine[:1]} vs alone {rows[:1]}")
    return wrong


def run_minority_posters(workdir: Path) -> Outcome:
    issue = _films(workdir / "issue", 17, {3, 11})
    cli = _films(workdir / "cli", 20, {0, 7, 13})
    plotless = _films(workdir / "plotless", 12, {1, 2, 5}, plotless={1, 2})
    done = _child(FILMS_CODE.format(issue_csv=str(issue), issue_zip=str(issue.parent / "posters.zip"),
                                    cli_csv=str(cli), cli_out=str(workdir / "cli-out"), cli_root=str(cli.parent),
                                    plotless_csv=str(plotless), plotless_zip=str(plotless.parent / "posters.zip")))
    if "issue" not in done:
        return Outcome(False, f"the replay's child failed: {str(done)[:400]}")
    problems = []
    first = done["issue"]
    counts = {row[0]: row[1] for row in first["table"] if not row[0].startswith("baseline")}
    if counts != {"minilm": 17, "tfidf": 17, "minilm-tfidf": 17}:
        problems.append(f"17 films, 2 posters: films per model {counts}")
    if any("row skipped" in line or "CLIP" in line for line in first["skipped"]):
        problems.append(f"a row skipped for a model that never ran: {first['skipped'][:2]}")
    problems += _same_as_alone(first["table"], first["alone"])
    cli_counts = [row for row in done["cli"]["table"] if not row[0].startswith("baseline")]
    if done["cli"]["rc"] != 0 or cli_counts != [["minilm", 20]]:
        problems.append(f"evaluate --all-films, 20 films, 3 posters: rc {done['cli']['rc']}, {cli_counts or done['cli']['printed']}")
    plot_rows = {row[0]: row[1] for row in done["plotless"]["table"] if not row[0].startswith("baseline")}
    if plot_rows != {"minilm": 10}:
        problems.append(f"2 films with a poster and no plot: {plot_rows}, skipped {done['plotless']['skipped']}")
    observed = ("17 films (2 posters): MiniLM, TF-IDF, blend 17 each, each row and its baselines equal to the "
                "model alone, CLIP 'not evaluated: weights not downloaded' and no row skipped for it; "
                f"evaluate --all-films 20 films (3 posters): MiniLM 20; no plot on 2 of 12: MiniLM 10")
    return Outcome(not problems, "; ".join(problems)[:600] if problems else observed)


# -- 7: notices that hide the real reason ---------------------------------------------------------------------

NOTICES_CODE = """
    import html, json
    from PIL import Image
    from genre_models import ModelPool
    from genre_models.comparison.compare import run_comparison, unavailable_notice
    from genre_models.comparison.explanations import run_explanations
    from genre_models.models.registry import get_model_spec
    pool, out = ModelPool(), {{}}
    keys = ["clip-vit-b-16", "siglip2-vit-b-16", "bit-resnet50", "minilm"]
    names = {{k: get_model_spec(k).name for k in keys}}
    for case, plot in (("no poster", "a ghost haunts the old house"), ("nothing given", None)):
        comparison = run_comparison(pool, keys, None, plot)
        out[case] = html.unescape(unavailable_notice(comparison, names)).split("\\n\\n")
    poster = Image.new("RGB", (64, 96), (20, 0, 0))
    for case, chosen in (("fusion and MiniLM", ["fusion", "minilm"]), ("fusion alone", ["fusion"])):
        out[case] = run_explanations(pool, chosen, poster, "a ghost haunts the old house").skipped.get("fusion")
    print(json.dumps(out))
"""


def run_hidden_reasons(workdir: Path) -> Outcome:
    done = _child(NOTICES_CODE.format())
    if "no poster" not in done:
        return Outcome(False, f"the replay's child failed: {str(done)[:400]}")
    problems = []
    for case in ("no poster", "nothing given"):
        weights = [line for line in done[case] if "weights not downloaded" in line]
        named = all(any(name in line for line in weights) for name in ("CLIP ViT-B/16", "SigLIP 2", "BiT"))
        only_input = [line for line in done[case] if "needs a poster" in line and "weights" not in line]
        if not named or only_input:
            problems.append(f"{case}: {done[case]}")
    for case in ("fusion and MiniLM", "fusion alone"):
        why = done[case] or ""
        if why == "explained through its parts" or "CLIP ViT-L/14" not in why or "weights not downloaded" not in why:
            problems.append(f"Why? of {case}: {why!r}")
    observed = (f"no poster: {done['no poster'][0][:110]}; Why? of the fusion: {done['fusion and MiniLM']!r}")
    return Outcome(not problems, "; ".join(problems)[:600] if problems else observed)


# -- 8: messages ------------------------------------------------------------------------------------------------

MESSAGES_CODE = """
    import contextlib, html, io, json
    from huggingface_hub import constants
    from genre_models import ModelPool, evaluate
    from genre_models.cli import download
    from genre_models.comparison.compare import run_comparison, unavailable_notice
    out = {{}}
    ids = {ids!r}
    out["ids"] = []
    for some in (ids[:2], ids[2:]):  # at most 3 added models a request
        comparison = run_comparison(ModelPool(), ["tfidf"], None, "a ghost haunts the old house", extra_models=some)
        out["ids"] += html.unescape(unavailable_notice(comparison, {{"tfidf": "TF-IDF"}})).split("\\n\\n")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        out["genres_rc"] = evaluate.main(["--all-films", "--data", {genres_csv!r}, "--models", "tfidf", "--out", {out!r}])
    out["genres"] = [line.strip() for line in printed.getvalue().splitlines() if "unknown genre" in line]
    constants.HF_HUB_CACHE = {cache!r}  # an empty cache: every hub model is to fetch
    for case, argv in (("two models", ["--models", "siglip2-vit-b-16", "clip-vit-b-16"]), ("every model", [])):
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            download.main(argv)
        out[case] = err.getvalue()
    print(json.dumps(out))
"""

IDS = ["not a valid id!!", "../../etc/passwd", "timm/nosuchmodelhere", "org/" + "a" * 116]
CELLS = {"Horror, Mystery": "Horror|Mystery", "Horror;Sci-Fi": "Horror|Sci-Fi", "Comedy/Romance": "Comedy|Romance",
         "Horror Mystery": "Horror|Mystery", "Horror，Comedy": "Horror|Comedy"}


def run_messages(workdir: Path) -> Outcome:
    rows = [[f"g{i}", f"Film {i}", "2000", cell, PLOTS["Horror"], ""] for i, cell in enumerate(CELLS)]
    rows += [[f"ok{i}", f"Good {i}", "2000", "Horror", PLOTS["Horror"], ""] for i in range(4)]
    genres_csv = workdir / "genres.csv"
    with open(genres_csv, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([HEADER, *rows])
    (workdir / "cache").mkdir()
    done = _child(MESSAGES_CODE.format(ids=IDS, genres_csv=str(genres_csv), out=str(workdir / "out"),
                                       cache=str(workdir / "cache")))
    if "ids" not in done:
        return Outcome(False, f"the replay's child failed: {str(done)[:400]}")
    problems = []
    if len(done["ids"]) != len(IDS) or any(line.count(text[:30]) != 1 or not line.startswith("**Not added:** ")
                                           for line, text in zip(done["ids"], IDS)):
        problems.append(f"refused ids: {done['ids']}")
    hinted = [line for line in done["genres"] if "genres are separated by '|'" in line]
    if done["genres_rc"] != 0 or len(hinted) != len(CELLS) or any(
            f"as in '{bars}'" not in line for line, bars in zip(hinted, CELLS.values())):
        problems.append(f"genre cells: rc {done['genres_rc']}, {done['genres']}")
    for case in ("two models", "every model"):
        named = [part.strip() for part in done[case].split("Would fetch: ")[-1].strip().split(", ")]
        if "Would fetch: " not in done[case] or len(named) != len(set(named)):
            problems.append(f"download offline, {case}: {done[case][-300:]}")
    observed = (f"{done['ids'][0]} | {hinted[0] if hinted else done['genres'][:1]} | download offline names "
                "each model once")
    return Outcome(not problems, "; ".join(problems)[:600] if problems else observed)


KINDS = [
    Kind(1, "Your films: posters for a minority of films (issue 35)", "each model scored on every film it can "
         "read, equal to that model run alone, baselines beside each set of films; a model that cannot run "
         "shrinks no one's films (library, evaluate --all-films)", run_minority_posters),
    Kind(7, "Notices: no poster, no weights; Why? of a fusion without its poster part (issue 35)",
         "the notice names the missing weights as well as the missing poster; Why? never says a fusion was "
         "explained through parts that were not", run_hidden_reasons),
    Kind(8, "Messages: a refused hub id, genres not separated by |, download offline (issue 35)",
         "one sentence naming the id once; a hint that genres are separated by '|'; each model named once",
         run_messages),
]
