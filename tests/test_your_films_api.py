"""The /evaluate_films endpoint, called with gradio_client against a live server: the numbers
``python -m genre_models.evaluate --all-films`` gives for the same file, and bad input in one line."""
import json
import zipfile

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from app_server import running_app
from genre_models import evaluate as evaluate_cli
from test_your_films import few_posters, write_films

LINEUP = ["tiny-bert", "tiny-clip-vit", "minilm"]


@pytest.fixture(scope="module")
def client(tiny_clip_configs, tiny_bert_dir, tmp_path_factory):
    from conftest import registered, tiny_specs
    with registered(tiny_specs(tmp_path_factory.mktemp("ckpt"), tiny_bert_dir)):
        with running_app(LINEUP) as url:
            yield Client(url, verbose=False)


def _evaluate(client, films, posters=None, models=None):
    return client.predict(films=handle_file(str(films)), posters=handle_file(str(posters)) if posters else None,
                          models=models or [], mode="auto", api_name="/evaluate_films")


def test_the_endpoint_gives_the_numbers_of_the_command(client, tmp_path):
    films, _ = write_films(tmp_path, n=10, extra_rows=[["u1", "U", "", "Spaghetti", "ghost", ""]])
    result = _evaluate(client, films, models=["minilm", "tiny-bert"])
    out = tmp_path / "out"
    assert evaluate_cli.main(["--all-films", "--data", str(films), "--models", "minilm", "tiny-bert",
                              "--out", str(out)]) == 0
    saved = json.loads((out / "evaluation.json").read_text())
    assert result["films"] == saved["films"] == 10
    assert [r["model"] for r in result["table"]] == ["minilm", "tiny-bert", "baseline: all-negative",
                                                     "baseline: label-prior"]
    for api_row, cli_row in zip(result["table"], saved["table"]):
        assert api_row["model"] == cli_row["model"]
        assert api_row["micro_f1"] == cli_row["micro_f1"] and api_row["macro_ap"] == cli_row["macro_ap"]
    assert result["table"][0]["mode"] == "trained" and result["table"][0]["micro_f1"] > 0.3  # MiniLM reads plots
    assert result["skipped"] == ["line 12: unknown genre 'Spaghetti'; row skipped"]
    assert set(result["per_genre_f1"]) == {"MiniLM (plot, trained)", "Tiny BERT (zero-shot)"}


def test_posters_come_from_the_zip(client, tmp_path):
    films, posters = write_films(tmp_path, n=6)
    result = _evaluate(client, films, posters, ["tiny-clip-vit", "tiny-bert"])
    assert [(r["model"], r["films"]) for r in result["table"][:2]] == [("tiny-clip-vit", 6), ("tiny-bert", 6)]
    assert result["notes"] == [] and result["skipped"] == []
    # without the zip the poster model is named, the plot model still scored
    result = _evaluate(client, films, None, ["tiny-clip-vit", "tiny-bert"])
    assert [r["model"] for r in result["table"][:1]] == ["tiny-bert"]
    assert "Tiny CLIP ViT: not evaluated: it reads posters" in result["notes"][0]


def test_films_without_posters_still_count_for_the_plot_models(client, tmp_path):
    """Issue 35: 2 films of 9 name a poster; the plot models are scored on all 9, as the command scores them."""
    films, posters = few_posters(tmp_path, n=9, with_poster=(2, 6))
    result = _evaluate(client, films, posters, ["tiny-clip-vit", "minilm"])
    assert [(r["model"], r["films"]) for r in result["table"]] == [  # in the order asked for
        ("tiny-clip-vit", 2), ("baseline: all-negative (on the films of Tiny CLIP ViT)", 2),
        ("baseline: label-prior (on the films of Tiny CLIP ViT)", 2), ("minilm", 9),
        ("baseline: all-negative (on the films of MiniLM (plot))", 9),
        ("baseline: label-prior (on the films of MiniLM (plot))", 9)]
    assert result["films"] == 9 and len(result["skipped"]) == 7 and result["notes"] == []
    out = tmp_path / "out"
    assert evaluate_cli.main(["--all-films", "--data", str(films), "--posters", str(posters), "--models", "minilm",
                              "--out", str(out)]) == 0
    alone = json.loads((out / "evaluation.json").read_text())["table"]
    for api_row, cli_row in zip(result["table"][3:], alone, strict=True):  # MiniLM and its baselines
        assert {k: v for k, v in api_row.items() if k not in ("model", "name")} == \
            {k: v for k, v in cli_row.items() if k not in ("model", "name")}


def test_a_zip_reaching_outside_itself_is_one_clear_error(client, tmp_path):
    films, posters = write_films(tmp_path, n=3)
    with zipfile.ZipFile(posters, "a") as zf:
        zf.writestr("../../escape.png", b"x")
    with pytest.raises(AppError, match=r"^zip refused: '\.\./\.\./escape\.png' points outside the zip$"):
        _evaluate(client, films, posters, ["tiny-clip-vit"])


def test_a_csv_without_genres_is_one_clear_error(client, tmp_path):
    path = tmp_path / "films.csv"
    path.write_text("id,plot\nf1,a ghost\n")
    with pytest.raises(AppError, match=r"^line 1: the CSV lacks column\(s\) genres"):
        _evaluate(client, path, None, ["tiny-bert"])


def test_only_the_csv_is_needed(client, tmp_path):
    films, _ = write_films(tmp_path, n=4)
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/evaluate_films"]
    defaults = {p["parameter_name"]: (p["parameter_has_default"], p["parameter_default"]) for p in api["parameters"]}
    assert defaults == {"films": (False, None), "posters": (True, None), "models": (True, []),
                        "mode": (True, "auto")}
    # every model in the lineup by default: the poster model is named (no zip), the plot models scored
    result = client.predict(films=handle_file(str(films)), api_name="/evaluate_films")
    assert [r["model"] for r in result["table"][:2]] == ["tiny-bert", "minilm"]
    assert client.predict(films=handle_file(str(films)), models="tiny-bert",
                          api_name="/evaluate_films")["table"][0]["model"] == "tiny-bert"
