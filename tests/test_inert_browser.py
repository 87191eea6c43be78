"""Issue 33, item 10: text from a visitor or their file reaches the page inert, in a real browser.

Titles, genres, ids and plots of a films CSV, a plot, custom genres, added-model ids and a poster's file name
carry Markdown images and links, HTML, bare URLs and a bare host. The page must show each exactly as typed:
no request reaches the loopback "pixel" server the links point at, no <a> or <img> is made from them, and
the text is there to read. Debian's chromium, driven by Playwright, renders gradio's own Markdown.
"""
from __future__ import annotations

import csv
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app_server import TINY_LINEUP
from test_app_browser import CHROMIUM, tiny_lineup_page

# where the page's own Markdown shows text from the visitor; none of them has a link or image of its own
FILMS_OUT = ["#films-notice", "#films-table", "#films-disagreement"]
COMPARE_OUT = ["#notice", "#agreement", *[f"#card-{k}" for k in TINY_LINEUP + ["minilm"]],
               *[f"#card-added-{slot}" for slot in range(3)]]
WHY_OUT = ["#explain-notes", "#words-minilm", "#words-tiny-bert"]

pytestmark = pytest.mark.skipif(not shutil.which("chromium") and not __import__("os").path.exists(CHROMIUM),
                                reason="Debian chromium is not installed (apt-get install chromium)")


class Pixel(BaseHTTPRequestHandler):
    """A loopback server that answers every GET with a 1x1 PNG and records the path: any request is a leak."""
    seen: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        Pixel.seen.append(self.path)
        body = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                             "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def pixel_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Pixel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def pixel(pixel_server):
    """The pixel server's port, no request seen yet in this test."""
    Pixel.seen.clear()
    return pixel_server


def hostile(port: int) -> list[str]:
    """The issue's members of the kind and others: Markdown image and link, raw HTML, bare URL, bare host,
    an e-mail address, an autolink, emphasis and a formula."""
    return [f"![p](http://127.0.0.1:{port}/pixel.png)", f"<img src=http://127.0.0.1:{port}/tag.png>",
            f"[x](http://127.0.0.1:{port}/link)", "http://example.test/a", "www.example.test",
            "user@example.test", "<http://example.test/b>", "**bold** $$x^2$$"]


@pytest.fixture(scope="module")
def page(tiny_clip_configs, tiny_bert_dir, tmp_path_factory):
    with tiny_lineup_page(tiny_bert_dir, tmp_path_factory, 90_000) as page:
        yield page


def assert_inert(page, port: int, containers: list[str]) -> None:
    """No request reached the pixel server, nothing on the page links to or loads from the hosts the
    hostile text names, and the containers hold no link, image, formula or Markdown mark of the text's."""
    page.wait_for_timeout(1000)  # an <img> made from the text would have been fetched by now
    assert Pixel.seen == [], Pixel.seen
    # the page's own files (the uploaded poster, named www.example.test.png) come from its own origin
    live = page.evaluate("""(port) => [...document.querySelectorAll('[href], [src], [srcset]')]
        .map(e => new URL(e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('srcset'), location.href))
        .filter(u => u.origin !== location.origin && (u.href.includes('example.test') || u.port === port))
        .map(u => u.href)""", str(port))
    assert live == []
    for selector in containers:  # (their own marks: strong, and code around a command or an added id)
        made = page.locator(selector).locator("a, img, em, del, h1, h2, blockquote, .katex").count()
        assert made == 0, (selector, page.locator(selector).inner_html()[:2000])


def test_a_films_csv_shows_its_titles_genres_and_ids_as_typed(page, pixel, tmp_path):
    texts = hostile(pixel)
    rows = [[f"t{i}", text, "2000", "Horror", f"a ghost haunted the house . {text}", ""]  # title and plot
            for i, text in enumerate(texts)]
    rows += [[texts[4] + "/id", "", "2001", "Comedy", "two strangers fall in love .", ""],  # no title: named by id
             [texts[3], "", "2001", "Drama", "a family .", ""]]
    rows += [[f"g{i}", "Genre row", "", text, "ghost", ""] for i, text in enumerate(texts[:5])]  # unknown genres
    rows += [[texts[3], "Again", "", "Horror", "ghost", ""]]  # an id repeated
    films = tmp_path / "films.csv"
    with open(films, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["id", "title", "year", "genres", "plot", "poster"], *rows])

    view = page.context.browser.new_page(viewport={"width": 1400, "height": 1800})
    view.set_default_timeout(90_000)
    view.goto(page.url)
    view.get_by_role("tab", name="Your films").first.click()
    view.locator("#films-csv input[type=file]").set_input_files(str(films))
    view.locator("#evaluate").click()
    view.wait_for_function("document.querySelector('#films-table').innerText.includes('micro-F1')")
    view.wait_for_function("document.querySelector('#films-disagreement').innerText.includes('line ')")
    assert_inert(view, pixel, FILMS_OUT)

    notice = view.locator("#films-notice").inner_text()
    for line, text in enumerate(texts[:5], start=len(texts) + 4):
        assert f"line {line}: unknown genre '{text}'" in notice
    assert f"id '{texts[3]}' repeats an earlier row" in notice
    # every film the models split on, by its title or (with none) its id, in the list and in the picker
    shown = view.locator("#films-disagreement").inner_text()
    labels = [f"line {line}: {text}" for line, text in
              zip(range(2, 12), texts + [texts[4] + "/id", texts[3]]) if f"line {line}: " in shown]
    assert len(labels) >= 3, shown  # the tiny models disagree on most films; each one shown is checked
    for label in labels:
        assert f"{label} (true: " in shown
    view.locator("#films-pick input").click()
    options = [o.inner_text() for o in view.get_by_role("option").all()]
    assert set(labels) <= set(options), options
    # a hostile plot opens in Compare as typed (a text box: inert by nature)
    view.get_by_role("option", name=labels[0]).click()
    view.locator("#films-open").click()
    view.wait_for_function("document.querySelector('#plot textarea').value.length > 0")
    assert view.locator("#plot textarea").input_value().startswith("a ghost haunted the house . ")
    assert_inert(view, pixel, FILMS_OUT)
    view.close()


def test_compare_and_why_show_a_plot_genres_model_ids_and_a_file_name_as_typed(page, pixel, tmp_path):
    texts = hostile(pixel)
    poster = tmp_path / "www.example.test.png"  # not an image: the notice quotes its name
    poster.write_text("text, not a picture")
    plot = "a ghost haunted the house and the family fled . " + " ".join(texts)
    added = [texts[0], texts[1], texts[2]]  # refused ids: each card quotes its id as typed

    view = page.context.browser.new_page(viewport={"width": 1400, "height": 1800})
    view.set_default_timeout(90_000)
    view.goto(page.url)
    view.locator("#poster input[type=file]").set_input_files(str(poster))
    view.locator("#plot textarea").fill(plot)
    view.get_by_label("Custom genres (zero-shot models)").fill("www.example.test, example.test/a, Horror")
    view.locator("#extra-models textarea, #extra-models input").first.fill(", ".join(added))
    view.locator("#compare").click()
    view.wait_for_function("document.querySelector('#card-minilm').innerText.includes('Predicts')")
    view.wait_for_function("document.querySelector('#card-added-2').innerText.includes('Not added')")
    assert_inert(view, pixel, COMPARE_OUT)

    assert "'www.example.test.png'" in view.locator("#notice").inner_text()
    for slot, text in enumerate(added):
        card = view.locator(f"#card-added-{slot}").inner_text()
        assert card.startswith(f"Added model {text}: not a model this page can add."), card
        assert f"'{text}'" in card
    # the visitor's genres, on the cards and in the agreement view
    card = view.locator("#card-minilm").inner_text()
    assert "www.example.test" in card and "example.test/a" in card
    agreement = view.locator("#agreement").inner_text()
    assert "www.example.test" in agreement or "example.test/a" in agreement, agreement

    view.get_by_text("Why? Heatmaps on the poster").click()
    view.locator("#explain").click()
    view.wait_for_function("document.querySelector('#words-minilm')?.innerText.includes('ghost')")
    notes = view.locator("#explain-notes").inner_text()
    assert "poster: not explained ('www.example.test.png' is not an image" in notes
    words = view.locator("#words-minilm").inner_text()
    assert "example.test" in words
    assert_inert(view, pixel, WHY_OUT)
    view.close()
