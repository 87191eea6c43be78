"""Your films (issue 24): a user's CSV (and zip of posters) scored by several models, side by side.

Library and CLI here; the /evaluate_films endpoint in test_your_films_api.py, the tab in test_app_browser.py.
"""
from __future__ import annotations

import csv
import io
import json
import os
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
from genre_models.session_files import SessionFolders
from genre_models.training.metrics import multilabel_metrics
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
    assert result.skipped == [
        "line 8: unknown genre 'Spaghetti'; row skipped",
        "line 9: empty plot; row skipped",
        "line 10: empty plot; row skipped",
        "line 11: poster 'posters/nope.png' is not in the zip; row skipped",
        "line 13: missing column(s) plot, poster (fewer cells than the header); row skipped",
        "line 14: id 'f0' repeats an earlier row; row skipped",
        "line 15: poster '../films.csv' points outside the zip; row skipped"]
    assert [f.id for f in result.films] == [f"f{i}" for i in range(6)]
    assert [r.films for r in result.results] == [6, 6, 6, 6]


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


def test_a_session_folder_and_its_uploads_go_with_the_session(tmp_path):
    folders = SessionFolders()
    upload = tmp_path / "films.csv"
    upload.write_text("id")
    first = folders.fresh("s1")
    (first / "posters").mkdir()
    second = folders.fresh("s1")  # a new evaluation replaces the session's previous files
    assert not first.exists() and second.is_dir()
    other = folders.fresh("s2")
    folders.track("s1", str(upload), None)
    folders.remove("s1")
    assert not second.exists() and not upload.exists() and other.is_dir()
    folders.remove_all()
    assert not other.exists()
    assert os.path.isdir(tmp_path)


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
