"""The /compare endpoint, called with gradio_client against a live server."""
import pytest
from gradio_client import Client, handle_file

from app_server import running_app

PLOT = "a ghost haunted the house and the family fled ."


@pytest.fixture(scope="module")
def client(tiny_clip_configs, tiny_bert_dir, tmp_path_factory):
    from conftest import registered, tiny_specs
    with registered(tiny_specs(tmp_path_factory.mktemp("ckpt"), tiny_bert_dir)):
        with running_app() as url:
            yield Client(url, verbose=False)


def _compare(client, poster=None, plot="", models=None, custom=""):
    return client.predict(poster=handle_file(str(poster)) if poster else None, plot=plot,
                          models=models or [], mode="auto", threshold=None, custom_genres=custom,
                          api_name="/compare")


def test_poster_and_plot(client, poster):
    result = _compare(client, poster, PLOT)
    models = result["models"]
    assert set(models) == {"tiny-clip-vit", "tiny-clip-rn", "tiny-bit", "tiny-bert", "tiny-fusion"}
    for key in ("tiny-clip-vit", "tiny-clip-rn", "tiny-bert", "tiny-fusion"):
        assert models[key]["status"] == "ok", models[key]["message"]
        assert len(models[key]["probabilities"]) == 18
    assert models["tiny-bit"]["status"] == "unavailable" and "-m genre_models train --models tiny-bit" in models["tiny-bit"]["message"]
    assert result["agreement"]["models_compared"] and "most_disagreement" in result["agreement"]


def test_poster_only(client, poster):
    models = _compare(client, poster, "", ["tiny-clip-vit", "tiny-bert"])["models"]
    assert models["tiny-clip-vit"]["status"] == "ok"
    assert models["tiny-bert"]["status"] == "missing_input" and "plot" in models["tiny-bert"]["message"]


def test_plot_only(client):
    result = _compare(client, None, PLOT, ["tiny-clip-rn", "tiny-bert"])
    assert result["models"]["tiny-bert"]["status"] == "ok"
    assert result["models"]["tiny-clip-rn"]["status"] == "missing_input"


def test_custom_genres(client, poster):
    result = _compare(client, poster, PLOT, ["tiny-clip-vit", "tiny-bit"], custom="heist, space opera")
    assert result["genres"] == ["heist", "space opera"]
    assert list(result["models"]["tiny-clip-vit"]["probabilities"]) == ["heist", "space opera"]
    assert result["models"]["tiny-bit"]["status"] == "unavailable"


def test_not_an_image(client, tmp_path):
    bad = tmp_path / "poster.png"
    bad.write_text("not an image at all")
    result = _compare(client, bad, PLOT, ["tiny-clip-vit", "tiny-bert"])
    assert result["models"]["tiny-clip-vit"]["status"] == "invalid_input"
    assert result["models"]["tiny-bert"]["status"] == "ok"
    assert "could not be used" in result["notices"][0]


def test_unknown_model_is_a_clear_error(client):
    from gradio_client.exceptions import AppError
    with pytest.raises(AppError, match="'nope'.*not in the list of choices.*tiny-bert"):
        _compare(client, None, PLOT, ["nope"])


def test_app_cli_rejects_unknown_models(capsys):
    import app
    assert app.main(["--models", "nope"]) == 2
    assert "Valid models" in capsys.readouterr().err


def test_only_a_poster_and_a_plot_are_needed(client, poster):
    result = client.predict(poster=handle_file(str(poster)), plot=PLOT, api_name="/compare")
    # the app's own defaults: every model in the lineup, auto mode, tuned thresholds, the 18 genres
    assert set(result["models"]) == {"tiny-clip-vit", "tiny-clip-rn", "tiny-bit", "tiny-bert", "tiny-fusion"}
    assert result["models"]["tiny-clip-vit"]["mode"] == "zero-shot" and len(result["genres"]) == 18
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/compare"]
    # poster and plot may each be left out (a poster-only or plot-only comparison); the rest have the app's defaults
    assert all(p["parameter_has_default"] for p in api["parameters"])
    assert {p["parameter_name"]: p["parameter_default"] for p in api["parameters"]} == \
        {"poster": None, "plot": None, "models": [], "mode": "auto", "threshold": None, "custom_genres": "",
         "extra_models": []}  # added models (issue 23): none by default
    assert [r["label"] for r in api["returns"]] == ["comparison"]


@pytest.mark.parametrize("values, said", [
    ({"threshold": "abc"}, "the threshold must be a number from 0 to 1 (or none), got 'abc'"),
    ({"threshold": -1}, "the threshold must be from 0 to 1, got -1"),
    ({"threshold": 2}, "the threshold must be from 0 to 1, got 2"),
    ({"custom_genres": "heist, <b>bold</b>"}, "custom genre '<b>bold</b>': use letters, digits, spaces"),
    ({"custom_genres": ",".join(f"genre {i}" for i in range(31))}, "at most 30 custom genres at once"),
    ({"plot": "word " * 5000}, "the plot is 25,000 characters; the limit is 20,000"),
])
def test_bad_values_are_refused_once_with_the_limit_named(client, values, said):
    result = client.predict(**{"plot": PLOT, **values}, api_name="/compare")
    assert len(result["notices"]) == 1 and result["notices"][0].startswith(f"Nothing was computed: {said}")
    assert {p["status"] for p in result["models"].values()} == {"invalid_input"}


def test_models_as_one_bare_key(client):
    result = client.predict(plot=PLOT, models="tiny-bert", api_name="/compare")
    assert list(result["models"]) == ["tiny-bert"] and result["models"]["tiny-bert"]["status"] == "ok"


def _explain(client, poster=None, plot="", models=None, genre=""):
    return client.predict(poster=handle_file(str(poster)) if poster else None, plot=plot, models=models or [],
                          mode="auto", genre=genre, api_name="/explain")


def test_explain_endpoint_scores_words_and_posters_for_the_shown_answer(client, poster):
    compared = _compare(client, poster, PLOT)["models"]
    result = _explain(client, poster, PLOT)
    words = result["words"]["tiny-bert"]
    top = max(compared["tiny-bert"]["probabilities"].items(), key=lambda kv: kv[1])
    # the explanation is of the answer /compare gives: its top genre at the same probability
    assert words["genre"] == top[0] and words["probability"] == pytest.approx(top[1], abs=1e-6)
    assert [w for w, _ in words["words"]] == PLOT.split() and words["read"] == len(PLOT.split())
    assert words["method"].startswith("occlusion")
    assert set(result["heatmaps"]) == {"tiny-clip-vit", "tiny-clip-rn"}
    vit = result["heatmaps"]["tiny-clip-vit"]
    assert vit["layer"] == "visual.transformer.resblocks.1.ln_1" and vit["mode"] == "zero-shot"
    assert vit["random_weights"] is True and len(vit["heatmap"]) >= 4
    assert all(0 <= v <= 1 for row in vit["heatmap"] for v in row)
    assert result["skipped"] == {"tiny-bit": "no trained genre head", "tiny-fusion": "explained through its parts"}


def test_explain_endpoint_takes_a_genre_and_says_what_it_cannot_do(client, poster):
    result = _explain(client, poster, PLOT, ["tiny-clip-rn", "tiny-bert"], genre="Horror")
    assert result["words"]["tiny-bert"]["genre"] == result["heatmaps"]["tiny-clip-rn"]["genre"] == "Horror"
    result = _explain(client, None, PLOT, "tiny-clip-rn")  # one key sent bare, no poster
    assert result == {"words": {}, "heatmaps": {}, "skipped": {"tiny-clip-rn": "needs a poster"}}
    # a genre outside the 18 is a custom zero-shot genre, as on /compare
    result = _explain(client, None, PLOT, ["tiny-bert"], genre="Spaghetti western")
    assert result["words"]["tiny-bert"]["genre"] == "Spaghetti western"
    assert result["words"]["tiny-bert"]["mode"] == "zero-shot"
    result = _explain(client, None, PLOT, ["tiny-bert"], genre="<b>x</b>")
    assert result == {"words": {}, "heatmaps": {}, "skipped": {
        "tiny-bert": "custom genre '<b>x</b>': use letters, digits, spaces and - ' & / . only"}}


@pytest.mark.parametrize("sent", ["path", "dict"])
def test_a_poster_sent_as_a_plain_path_is_told_to_use_handle_file(client, poster, sent):
    """gradio_client's common slip (issue 26): poster="/path.png" instead of handle_file(path). gradio alone
    answers "The upstream Gradio app has raised an exception"; a dict naming a path would name a server file."""
    value = str(poster) if sent == "path" else {"path": str(poster)}
    with pytest.raises(Exception) as refused:
        client.predict(poster=value, plot=PLOT, models=["tiny-clip-vit"], api_name="/compare")
    assert "wrapped in gradio_client's handle_file" in str(refused.value)
    assert "upstream Gradio app has raised an exception" not in str(refused.value)
    assert _compare(client, poster, PLOT, ["tiny-clip-vit"])["models"]["tiny-clip-vit"]["status"] == "ok"


def test_the_pages_compare_keeps_no_file_or_figure_per_click(client):
    """Issue 26 (memory through the page): each Compare click draws four charts. They travel inline (base64)
    and no pyplot figure is made, so nothing piles up per click in gradio's cache folder or pyplot's registry."""
    import sys
    from pathlib import Path

    import matplotlib.pyplot as plt
    from gradio.utils import get_upload_folder
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
    from stress import PageClient
    page = PageClient(client.src if client.src.endswith("/") else client.src + "/")
    cache = Path(get_upload_folder())

    def files() -> int:
        return sum(1 for p in cache.rglob("*") if p.is_file()) if cache.exists() else 0
    page.compare(PLOT, ["tiny-bert", "tiny-clip-vit"])
    before = files()
    for _ in range(10):
        answer = page.compare(PLOT, ["tiny-bert", "tiny-clip-vit"])
    assert all(figure is not None for figure in answer[2:6])  # bars and heatmap, wide and narrow, drawn
    assert files() == before
    assert plt.get_fignums() == []


def test_a_full_disk_on_the_page_is_said_in_one_line_not_a_bare_error(tmp_path, monkeypatch):
    """Issue 33, item 18: any exception but gr.Error reaches the page as a bare "Error". A real full disk (a
    filled tmpfs), met by a handler's own write and by gradio's copy of a file a handler returns."""
    import gradio as gr
    from gradio_client.exceptions import AppError

    import app
    from genre_models.files import atomic_open
    from genre_models.ports import free_port
    from tests.support.full_disk import contents, fill, small_disk
    said = ("the server's disk is full (no space left on the device): {} could not be written; "
            "free some space and try again")
    with small_disk(tmp_path / "full") as disk:
        returned = tmp_path / "predictions.csv"  # written where there is room; gradio copies it to its cache
        returned.write_text("film_id,model\n" + "tt0000001,minilm\n" * 2000)
        monkeypatch.setenv("GRADIO_TEMP_DIR", str(disk / "gradio"))  # read by each component as it is made

        def write(text):  # as Your films writes its predictions into the session's folder
            with atomic_open(disk / "predictions.csv", "w") as handle:
                handle.write(text * 10_000)
            return "written"

        with gr.Blocks() as demo:
            text, answer, file = gr.Textbox(), gr.Textbox(), gr.File()
            gr.Button().click(write, text, answer, api_name="write")
            gr.Button().click(lambda: str(returned), None, file, api_name="give")
        app.say_disk_full(demo)
        fill(disk)
        port = free_port()
        demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                    allowed_paths=[str(tmp_path)])
        try:
            client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            with pytest.raises(AppError) as ours:
                client.predict("a,b\n", api_name="/write")
            assert str(ours.value) == said.format("predictions.csv")
            with pytest.raises(AppError) as gradios:
                client.predict(api_name="/give")
            assert str(gradios.value).startswith("the server's disk is full (no space left on the device): ")
            assert str(disk) not in str(gradios.value) and "\n" not in str(gradios.value)
        finally:
            demo.close()
        assert [name for name in contents(disk) if (disk / name).is_file()] == []  # nothing half-written
