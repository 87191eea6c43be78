"""The page in a real browser: Debian's chromium driven by Playwright (never `playwright install`)."""
from __future__ import annotations

import re
import shutil
from contextlib import contextmanager

import pytest

from app_server import TINY_LINEUP, running_app
from genre_models.commands import command
from test_minilm import GOLDEN

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PLOT = "a ghost haunted the house and the family fled ."
ANSWERING = ["tiny-clip-vit", "tiny-clip-rn", "tiny-bert", "tiny-fusion", "minilm"]
HAUNTED = GOLDEN["answers"][0]  # the shipped MiniLM's golden answer for this plot

pytestmark = pytest.mark.skipif(not shutil.which("chromium") and not __import__("os").path.exists(CHROMIUM),
                                reason="Debian chromium is not installed (apt-get install chromium)")


@contextmanager
def tiny_lineup_page(tiny_bert_dir, tmp_path_factory, timeout_ms: int):
    """The page of the tiny lineup and MiniLM, served in this process, open in chromium at 1400 px (the caller
    requests ``tiny_clip_configs`` too)."""
    from playwright.sync_api import sync_playwright

    from conftest import registered, tiny_specs
    with registered(tiny_specs(tmp_path_factory.mktemp("ckpt"), tiny_bert_dir)), running_app(TINY_LINEUP + ["minilm"]) as url:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.set_default_timeout(timeout_ms)
            page.goto(url)
            page.wait_for_selector("#compare")
            yield page
            browser.close()


@pytest.fixture(scope="module")
def page(tiny_clip_configs, tiny_bert_dir, tmp_path_factory):
    with tiny_lineup_page(tiny_bert_dir, tmp_path_factory, 60_000) as page:
        yield page


def _compare(page, poster_path, plot):
    page.locator("#poster input[type=file]").set_input_files(str(poster_path))
    page.locator("#plot textarea").fill(plot)
    page.locator("#compare").click()


def test_compare_shows_every_model_and_the_chart(page, poster, tmp_path):
    _compare(page, poster, HAUNTED["plot"])
    for key in ANSWERING:
        page.wait_for_function(f"document.querySelector('#card-{key}').innerText.includes('Predicts')")
        assert "Predicts" in page.locator(f"#card-{key}").inner_text()
    # the shipped plot model's card shows exactly its golden decisions, and its top genres in order
    card = page.locator("#card-minilm").inner_text()
    assert card.splitlines()[0] == "Predicts: " + ", ".join(HAUNTED["predicted"])
    assert "Probability vs this model's threshold: " in card
    assert "trained" in card
    top5 = sorted(HAUNTED["probabilities"], key=lambda g: -HAUNTED["probabilities"][g])[:5]
    label_lines = [line for line in page.locator("#label-minilm").inner_text().splitlines() if line.strip()]
    genre_lines = [line for line in label_lines if line in top5]
    assert genre_lines == top5[:1] + top5  # the label's headline, then one row per genre, in order
    # no trained head: its card folded away, and one notice above the chart naming it with the
    # command that fixes it
    assert page.locator("#card-tiny-bit").text_content().strip().startswith("Not available: no trained genre head.")
    assert page.locator("#card-tiny-bit").is_hidden() and page.locator("#label-tiny-bit").is_hidden()
    assert page.locator("#label-tiny-bert").is_visible() and page.locator("#card-tiny-bert").is_visible()
    assert page.locator("#notice").inner_text() == ("Not available (no trained genre head): Tiny BiT. Fix: "
                                                    + command("train", "--models", "tiny-bit", "--data", "movies.csv"))
    assert "own threshold" in page.locator("#threshold-note").inner_text()
    heights = {round(page.locator(".model-card").nth(i).bounding_box()["height"])
               for i in range(page.locator(".model-card").count()) if page.locator(".model-card").nth(i).is_visible()}
    assert len(heights) == 1, heights  # the answering models' cards are of one height
    page.wait_for_selector("#chart img")
    assert page.locator("#agreement").inner_text().strip()
    shot = tmp_path / "compare.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_not_an_image_gives_a_clear_message_and_the_page_still_works(page, poster, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("this file is text, not a picture")
    _compare(page, bad, PLOT)
    page.wait_for_function("document.querySelector('#notice').innerText.includes('could not be used')")
    assert "not an image" in page.locator("#notice").inner_text()
    page.wait_for_function("document.querySelector('#card-tiny-bert').innerText.includes('Predicts')")
    # the next request with a real poster works
    _compare(page, poster, PLOT)
    page.wait_for_function("!document.querySelector('#notice').innerText.includes('could not be used')")
    page.wait_for_function("document.querySelector('#card-tiny-clip-vit').innerText.includes('Predicts')")


def test_an_example_fills_the_inputs_and_answers(page):
    fresh = page.context.browser.new_page(viewport={"width": 1400, "height": 1800})  # nothing compared yet
    fresh.set_default_timeout(60_000)
    fresh.goto(page.url)
    assert fresh.locator("#card-tiny-bert").is_hidden()  # no card before an answer (issue 35)
    fresh.get_by_text("The Kid (1921)", exact=True).first.click()
    fresh.wait_for_function("document.querySelector('#plot textarea').value.includes('penniless tramp')")
    fresh.wait_for_selector("#poster img")
    fresh.wait_for_function("document.querySelector('#card-tiny-bert').innerText.includes('Predicts')")
    fresh.wait_for_function("document.querySelector('#card-tiny-clip-vit').innerText.includes('Predicts')")
    fresh.close()


def test_phone_width_stacks_everything_and_cuts_nothing_off(page, poster, tmp_path):
    phone = page.context.browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    phone.set_default_timeout(60_000)
    phone.goto(page.url)
    _compare(phone, poster, PLOT)
    phone.wait_for_function("document.querySelector('#card-tiny-bert').innerText.includes('Predicts')")
    phone.wait_for_selector("#chart-narrow img")  # the figure drawn for a phone; the wide one is hidden
    assert phone.locator("#chart").is_hidden()
    # nothing wider than the screen: no sideways scrolling
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    boxes = {name: phone.locator(sel).bounding_box() for name, sel in
             [("poster", "#poster"), ("plot", "#plot"), ("models", "#models"), ("compare", "#compare"),
              ("chart", "#chart-narrow"), ("bert", "#card-tiny-bert"), ("clip", "#card-tiny-clip-vit")]}
    for name, box in boxes.items():
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390 + 1, (name, box)
    # stacked: the film and Compare, then the controls, then the chart, then the cards one under another
    assert boxes["poster"]["y"] < boxes["plot"]["y"] < boxes["compare"]["y"] < boxes["models"]["y"] < boxes["chart"]["y"]
    assert abs(boxes["bert"]["y"] - boxes["clip"]["y"]) > 50
    shot = tmp_path / "phone.png"
    phone.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    phone.close()


def test_examples_are_listed_by_title_and_year(page):
    examples = page.locator("#poster").page.get_by_text("The General (1926)", exact=True)
    assert examples.count() >= 1
    assert page.get_by_text("A penniless tramp finds an abandoned baby").count() == 0  # plots are not dumped there


def test_the_page_shows_the_chart_with_its_legend_and_threshold_marks(page, poster):
    """The chart on the page is, pixel for pixel, the figure whose legend and marks are checked here."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    from gradio_client import Client, handle_file

    from genre_models.comparison.compare import Comparison, comparison_chart, comparison_heatmap
    from genre_models.models.prediction import Prediction, Status
    from genre_models.models.registry import get_model_spec
    _compare(page, poster, PLOT)
    page.wait_for_function("document.querySelector('#card-tiny-bert').innerText.includes('Predicts')")
    keys = TINY_LINEUP + ["minilm"]
    names = {k: get_model_spec(k).name for k in keys}
    # the same server's answers for the same film (its tiny CLIP models are random, so only it knows them)
    answer = Client(page.url, verbose=False).predict(poster=handle_file(str(poster)), plot=PLOT, api_name="/compare")
    comparison = Comparison({k: Prediction(**{**p, "status": Status(p["status"])}) for k, p in answer["models"].items()},
                            answer["genres"])
    for element, figure in (("#chart", comparison_chart(comparison, names)),
                            ("#heatmap", comparison_heatmap(comparison, names))):
        if element == "#heatmap":
            page.get_by_role("tab", name="Heatmap").click()
        src = page.locator(f"{element} img").get_attribute("src")
        shown = np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB"), float)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="webp")  # as gradio encodes a matplotlib figure
        expected = np.asarray(Image.open(buffer).convert("RGB"), float)
        assert shown.shape == expected.shape and np.abs(shown - expected).mean() < 1.0, element
    page.get_by_role("tab", name="Bars").click()
    ax = comparison_chart(comparison, names).axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    answering = [names[k] for k in keys if comparison.predictions[k].ok]
    assert legend == answering + ["filled: predicted", "hollow: not predicted", "the model's threshold"]
    assert sum(len(c.get_segments()) for c in ax.collections) == len(answering) * 18  # a mark on every bar


def test_explain_shows_heatmaps_and_highlighted_words(page, poster):
    _compare(page, poster, PLOT)
    page.wait_for_function("document.querySelector('#card-tiny-bert').innerText.includes('Predicts')")
    page.get_by_text("Why? Heatmaps on the poster").click()
    page.locator("#explain").click()
    page.wait_for_function("document.querySelectorAll('#heatmaps img').length >= 2")
    # one overlay per poster model that answered (tiny BiT has no head: said, not drawn)
    assert page.locator("#heatmaps img").count() == 2  # tiny CLIP ViT and RN
    assert "Tiny BiT: not explained (no trained genre head)" in page.locator("#explain-notes").inner_text()
    page.wait_for_function("document.querySelector('#words-minilm').innerText.includes('ghost')")
    words = page.locator("#words-minilm").inner_text()
    assert all(w in words for w in ("ghost", "haunted", "house", "family", "fled"))
    # the label says which genre, at what probability, by which method (the top genre of its card)
    top = page.locator("#card-minilm").inner_text()
    label = re.search(r"MiniLM \(plot\): ([A-Za-z ]+) (\d+)% · each word removed in turn", words)
    assert label and label.group(1) in top, words


def _no_sideways_scroll(page, width: int) -> None:
    for tab in ("Results", "Your films", "Compare"):
        page.get_by_role("tab", name=tab).first.click()
        page.wait_for_timeout(300)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, tab


def _visible_cards(page) -> dict[str, tuple[str, str]]:
    """Visible model cards: key -> (the label's headline, the card's text)."""
    out = {}
    for key in TINY_LINEUP + ["minilm"]:
        card = page.locator(f"#card-{key}")
        if card.is_visible():
            from genre_models.models.registry import get_model_spec
            name = get_model_spec(key).name  # the component's own label comes first; the headline next
            lines = [line for line in page.locator(f"#label-{key}").inner_text().splitlines()
                     if line.strip() and line.strip() != name]
            out[key] = (lines[0] if lines else "", card.inner_text())
    return out


def test_a_plot_only_run_shows_no_empty_card_and_every_headline_is_predicted(page):
    fresh = page.context.browser.new_page(viewport={"width": 1400, "height": 1800})  # no poster given
    fresh.set_default_timeout(60_000)
    fresh.goto(page.url)
    fresh.locator("#plot textarea").fill("zzqx vbnmw qwrtp")  # a plot no model can read
    fresh.locator("#compare").click()
    fresh.wait_for_function("document.querySelector('#card-minilm').innerText.includes('Predicts')")
    cards = _visible_cards(fresh)
    # the poster models and fusion need a poster, and the tiny BERT (a few dozen words) knows none of
    # these: each folded into the notice, not shown as an empty card or a prior dressed as an answer
    assert set(cards) == {"minilm"}, cards
    notice = fresh.locator("#notice").inner_text()
    assert "Needs more input (needs a poster): " in notice and "Tiny BERT" in notice.split("Read nothing it knows")[1]
    # an empty submit: one clear notice, no card, no figure
    fresh.locator("#plot textarea").fill("")
    fresh.locator("#compare").click()
    fresh.wait_for_function("document.querySelector('#notice').innerText.includes('Give a poster, a plot, or both')")
    assert _visible_cards(fresh) == {} and fresh.locator("#chart img").count() == 0
    fresh.close()
    for key, (headline, text) in cards.items():
        predicted = text.splitlines()[0].removeprefix("Predicts: ").split(", ")
        assert headline in predicted or (headline == "No genre predicted" and predicted == ["none above threshold"]), \
            (key, headline, text)


def test_loaded_models_never_claim_a_first_load(page, poster):
    _compare(page, poster, PLOT)
    page.wait_for_function("document.querySelector('#card-tiny-bert').innerText.includes('Predicts')")
    # from now on every model is loaded or known not to load: record any progress text during a Compare
    page.evaluate("""() => { window.__progress = [];
        window.__observer = new MutationObserver(() => { const t = document.body.innerText;
            if (t.includes('first use only')) window.__progress.push(t.slice(0, 200)); });
        window.__observer.observe(document.body, {subtree: true, childList: true, characterData: true}); }""")
    page.locator("#plot textarea").fill(PLOT + " again")
    page.locator("#compare").click()
    page.wait_for_function("document.querySelector('#card-tiny-bert').innerText.includes('Predicts')")
    page.wait_for_timeout(500)
    assert page.evaluate("window.__progress") == []
    page.evaluate("window.__observer.disconnect()")


def test_the_threshold_slider_is_live_only_when_it_applies(page):
    page.get_by_role("tab", name="Compare").first.click()
    slider = page.locator("#threshold input[type=range]")
    assert slider.is_disabled()
    page.get_by_label("Use each model's tuned thresholds").uncheck()
    page.wait_for_function("!document.querySelector('#threshold input[type=range]').disabled")
    page.get_by_label("Use each model's tuned thresholds").check()
    page.wait_for_function("document.querySelector('#threshold input[type=range]').disabled")


def _figure_text_px(page, selector: str, figure) -> float:
    """The smallest text of ``figure`` in CSS pixels, as the page shows it in ``selector``'s image."""
    shown = page.evaluate(f"(() => {{ const i = document.querySelector('{selector} img'); "
                          "return [i.clientWidth, i.naturalWidth]; })()")
    scale = shown[0] / shown[1]
    texts = [t for ax in figure.axes for t in ax.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text"))
             if t.get_text().strip() and t.get_visible()]
    return min(t.get_fontsize() * figure.dpi / 72 for t in texts) * scale


@pytest.mark.parametrize("width", [1400, 390])
def test_every_tab_fits_and_figure_text_is_readable(page, poster, width):
    from gradio_client import Client, handle_file

    from genre_models.comparison.compare import (Comparison, comparison_chart, comparison_chart_narrow,
                                                 comparison_heatmap, comparison_heatmap_narrow)
    from genre_models.models.prediction import Prediction, Status
    from genre_models.models.registry import get_model_spec
    view = page.context.browser.new_page(viewport={"width": width, "height": 900}, device_scale_factor=1)
    view.set_default_timeout(60_000)
    view.goto(page.url)
    _compare(view, poster, PLOT)
    view.wait_for_function("document.querySelector('#card-tiny-bert').innerText.includes('Predicts')")
    narrow = width < 700
    view.wait_for_selector("#chart-narrow img" if narrow else "#chart img")
    _no_sideways_scroll(view, width)
    keys = TINY_LINEUP + ["minilm"]
    names = {k: get_model_spec(k).name for k in keys}
    answer = Client(page.url, verbose=False).predict(poster=handle_file(str(poster)), plot=PLOT, api_name="/compare")
    comparison = Comparison({k: Prediction(**{**p, "status": Status(p["status"])}) for k, p in answer["models"].items()},
                            answer["genres"])
    bars, heat = ((comparison_chart_narrow, comparison_heatmap_narrow) if narrow
                  else (comparison_chart, comparison_heatmap))
    chart_id, heat_id = ("#chart-narrow", "#heatmap-narrow") if narrow else ("#chart", "#heatmap")
    assert view.locator(chart_id).is_visible() and not view.locator("#chart-narrow" if not narrow else "#chart").is_visible()
    assert _figure_text_px(view, chart_id, bars(comparison, names)) >= 10
    view.get_by_role("tab", name="Heatmap").click()
    view.wait_for_selector(f"{heat_id} img")
    assert _figure_text_px(view, heat_id, heat(comparison, names)) >= 10
    if narrow:  # the Results tab's chart is redrawn for a phone too
        from genre_models.comparison.results import per_genre_f1_narrow
        view.get_by_role("tab", name="Results").first.click()
        view.wait_for_selector("#results-chart-narrow img")
        assert _figure_text_px(view, "#results-chart-narrow", per_genre_f1_narrow()) >= 10
        assert view.locator("#results-chart").is_hidden()
    view.close()


def _evaluate_films(view, films) -> None:
    view.get_by_role("tab", name="Your films").first.click()
    view.locator("#films-csv input[type=file]").set_input_files(str(films))
    # every progress text shown over the chart while the films are scored
    view.evaluate("""() => { window.__films = new Set();
        window.__watch = new MutationObserver(() => { const c = document.querySelector('#films-chart');
            const m = c && c.innerText.match(/[^\\n]*\\d+\\/\\d+ films/); if (m) window.__films.add(m[0]); });
        window.__watch.observe(document.body, {subtree: true, childList: true, characterData: true}); }""")
    view.locator("#evaluate").click()
    view.wait_for_function("document.querySelector('#films-table').innerText.includes('micro-F1')")


def test_your_films_shows_the_table_chart_disagreements_and_download(page, tmp_path):
    import csv
    import time
    import urllib.parse
    import urllib.request
    from pathlib import Path

    from gradio_client import Client, handle_file

    from test_your_films import write_films
    films, _ = write_films(tmp_path, n=8, extra_rows=[["u1", "Odd", "", "Spaghetti", "ghost", ""]])
    before = _session_folders()
    view = page.context.browser.new_page(viewport={"width": 1400, "height": 1800})
    view.set_default_timeout(60_000)
    view.goto(page.url)
    _evaluate_films(view, films)
    # the tab's plot models by default (no zip: a poster model could not answer), beside the baselines
    table = view.locator("#films-table").inner_text()
    assert "8 films scored" in table
    rows = {line.split("\t")[0]: line.split("\t") for line in table.splitlines() if "\t" in line}
    assert {"Tiny BERT", "MiniLM (plot)", "baseline: all-negative", "baseline: label-prior"} <= set(rows)
    # the numbers the endpoint gives for the same file
    api = Client(page.url, verbose=False).predict(films=handle_file(str(films)), posters=None,
                                                  models=["tiny-bert", "minilm"], api_name="/evaluate_films")
    header = rows["model"]
    for row in api["table"]:
        shown = rows[row["name"]]
        assert shown[header.index("micro-F1")] == f"{row['micro_f1']:.4f}", row["name"]
        assert shown[header.index("macro AP")] == f"{row['macro_ap']:.4f}", row["name"]
    assert "line 10: unknown genre 'Spaghetti'; row skipped" in view.locator("#films-notice").inner_text()
    # progress per model, in films done of all
    shown = view.evaluate("[...window.__films]")
    assert shown and all(re.fullmatch(r"(Tiny BERT|MiniLM \(plot\)): [1-8]/8 films.*", t) for t in shown), shown
    view.wait_for_selector("#films-chart img")
    assert view.locator("#films-chart-narrow").is_hidden()
    disagreement = view.locator("#films-disagreement").inner_text()
    assert "Where the models disagree most" in disagreement and disagreement.count("line ") >= 1
    # every prediction, downloadable: one row per film and model
    link = view.locator("#films-download a").first.get_attribute("href")
    with urllib.request.urlopen(link if link.startswith("http") else page.url.rstrip("/") + link) as response:
        predictions = list(csv.DictReader(response.read().decode().splitlines()))
    assert len(predictions) == 16 and {p["model"] for p in predictions} == {"tiny-bert", "minilm"}
    assert {"film_id", "mode", "Horror", "predicted"} <= set(predictions[0])
    # the film the models disagree on most opens in Compare, its plot filled in
    first = api["disagreements"][0]
    view.locator("#films-pick input").click()
    view.get_by_role("option", name=f"line {first['line']}: {first['title']}").click()
    view.locator("#films-open").click()
    view.wait_for_function("document.querySelector('#plot textarea').value.length > 0")
    assert view.locator("#plot textarea").input_value() == first["plot"]
    assert view.locator("#compare").is_visible()
    # the session's folder (predictions, unpacked posters) and its upload go when the page is closed
    (folder,) = [p for p in _session_folders() - before if (p / "predictions.csv").is_file()]
    upload = view.locator("#films-csv a").first.get_attribute("href").split("file=", 1)[1]
    assert Path(urllib.parse.unquote(upload)).is_file()
    view.close()
    for _ in range(100):  # the unload event reaches the server when it does: wait for both to go
        if not folder.exists() and not Path(urllib.parse.unquote(upload)).exists():
            break
        time.sleep(0.1)
    assert not folder.exists() and not Path(urllib.parse.unquote(upload)).exists()


def _session_folders() -> set:
    from pathlib import Path

    from gradio.utils import get_upload_folder
    return set(Path(get_upload_folder()).glob("genrelens-sessions-*/session-*"))  # genre_models.session_files


def test_your_films_at_phone_width_fits_and_its_chart_is_readable(page, tmp_path):
    from genre_models import ModelPool
    from genre_models.comparison.your_films import evaluate_films
    from test_your_films import write_films
    films, _ = write_films(tmp_path, n=6)
    view = page.context.browser.new_page(viewport={"width": 390, "height": 900}, device_scale_factor=1)
    view.set_default_timeout(60_000)
    view.goto(page.url)
    _evaluate_films(view, films)
    view.wait_for_selector("#films-chart-narrow img")
    assert view.locator("#films-chart").is_hidden()
    assert view.evaluate("document.documentElement.scrollWidth") <= 390
    # the same figure, drawn here from the same films by the same models (both have fixed weights)
    figure = evaluate_films(ModelPool(), ["tiny-bert", "minilm"], films).chart(narrow=True)
    assert _figure_text_px(view, "#films-chart-narrow", figure) >= 10
    view.close()


def test_a_film_with_its_poster_opens_in_compare_with_both(page, tmp_path):
    from test_your_films import write_films
    films, posters = write_films(tmp_path, n=6)
    view = page.context.browser.new_page(viewport={"width": 1400, "height": 1800})
    view.set_default_timeout(60_000)
    view.goto(page.url)
    view.get_by_role("tab", name="Your films").first.click()
    view.locator("#films-zip input[type=file]").set_input_files(str(posters))
    view.locator("#films-models").get_by_label("Tiny CLIP ViT").check()
    _evaluate_films(view, films)
    rows = [line.split("\t")[:3] for line in view.locator("#films-table").inner_text().splitlines()]
    assert ["Tiny CLIP ViT", "zero-shot", "6"] in rows and ["Tiny BERT", "zero-shot", "6"] in rows
    view.locator("#films-pick input").click()
    view.get_by_role("option").first.click()
    view.locator("#films-open").click()
    view.wait_for_selector("#poster img")  # the unpacked poster, served from the session's folder
    assert view.locator("#plot textarea").input_value().startswith(("ghost", "love", "space", "comedy"))
    view.close()
