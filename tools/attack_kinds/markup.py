"""Issue 33, item 10: text a visitor typed, or a cell of their films CSV, reaches the page live.

Replayed through the app as a user starts it (``python app.py``, the shipped plot models MiniLM and TF-IDF)
and Debian's chromium: a films CSV whose titles, genres and ids carry a Markdown image and link, raw HTML, a
bare URL, a bare host, an e-mail address and a formula pointing at a loopback "pixel" server; then the
Compare tab with the same text as plot, custom genres, added-model ids and a poster's file name, and Why?.
Expected: the pixel server sees no request, the page holds no link or image to those hosts, and the
text is on the page exactly as typed.
"""
from __future__ import annotations

import csv
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .common import Kind, Outcome

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
LINEUP = ["minilm", "tfidf"]
STEP_MS = 90_000  # any one wait on the page; the replay stops by itself past it


def _hostile(port: int) -> list[str]:
    return [f"![p](http://127.0.0.1:{port}/pixel.png)", f"<img src=http://127.0.0.1:{port}/tag.png>",
            f"[x](http://127.0.0.1:{port}/link)", "http://example.test/a", "www.example.test", "user@example.test",
            "<http://example.test/b>", "**bold** $$x^2$$"]


class _Pixel(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).seen.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def _films_csv(folder: Path, texts: list[str]) -> tuple[Path, list[str], list[str]]:
    """(the CSV, the film labels it should show as typed, the skipped-row notes it should show as typed)."""
    rows = [[f"t{i}", text, "2000", "Horror", f"a ghost haunted the house . {text}", ""] for i, text in enumerate(texts)]
    rows.append([texts[4] + "/id", "", "2001", "Comedy", "two strangers fall in love .", ""])  # named by its id
    first_genre_row = len(rows) + 2
    rows += [[f"g{i}", "Genre row", "", text, "ghost", ""] for i, text in enumerate(texts[:5])]
    rows.append([texts[4] + "/id", "Again", "", "Horror", "ghost", ""])  # an id repeated
    path = folder / "films.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["id", "title", "year", "genres", "plot", "poster"], *rows])
    labels = [f"line {i + 2}: {text}" for i, text in enumerate(texts + [texts[4] + "/id"])]
    notes = [f"line {first_genre_row + i}: unknown genre '{text}'" for i, text in enumerate(texts[:5])]
    notes.append(f"id '{texts[4]}/id' repeats an earlier row")
    return path, labels, notes


def _live(page, port: int) -> list[str]:
    """Links and sources on the page that lead away from it to the hosts the hostile text names."""
    return page.evaluate("""(port) => [...document.querySelectorAll('[href], [src], [srcset]')]
        .map(e => new URL(e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('srcset'), location.href))
        .filter(u => u.origin !== location.origin && (u.href.includes('example.test') || u.port === port))
        .map(u => u.href)""", str(port))


def _made(page, selectors: list[str]) -> int:
    """Links, images, formulas and Markdown marks inside the boxes that show the visitor's text."""
    return sum(page.locator(s).locator("a, img, em, del, h1, h2, blockquote, .katex").count() for s in selectors)


def run(workdir: Path) -> Outcome:
    from playwright.sync_api import sync_playwright

    from tests.support.app_launcher import AppProcess

    if not Path(CHROMIUM).exists():
        return Outcome(False, "Debian chromium is not installed (apt-get install chromium): not replayed")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pixel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    texts = _hostile(port)
    films, labels, notes = _films_csv(workdir, texts)
    poster = workdir / "www.example.test.png"
    poster.write_text("text, not a picture")
    missing, made, live = [], 0, []
    try:
        with AppProcess(["--models", *LINEUP, "--concurrency", "1"]) as app, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1800})
                page.set_default_timeout(STEP_MS)
                page.goto(app.url)
                # Your films: titles, ids and genres from the CSV
                page.get_by_role("tab", name="Your films").first.click()
                page.locator("#films-csv input[type=file]").set_input_files(str(films))
                page.locator("#evaluate").click()
                page.wait_for_function("document.querySelector('#films-table').innerText.includes('micro-F1')")
                shown = page.locator("#films-notice").inner_text() + page.locator("#films-disagreement").inner_text()
                missing += [n for n in notes if n not in shown]
                listed = [label for label in labels if label + " (true: " in shown]
                missing += [] if listed else ["no film listed among the disagreements"]
                made += _made(page, ["#films-notice", "#films-table", "#films-disagreement"])
                # Compare and Why?: a plot, custom genres, added-model ids and a poster's file name
                page.get_by_role("tab", name="Compare").first.click()
                page.locator("#poster input[type=file]").set_input_files(str(poster))
                page.locator("#plot textarea").fill("a ghost haunted the house . " + " ".join(texts))
                page.get_by_label("Custom genres (zero-shot models)").fill("www.example.test, example.test/a, Horror")
                page.locator("#extra-models textarea, #extra-models input").first.fill(", ".join(texts[:3]))
                page.locator("#compare").click()
                page.wait_for_function("document.querySelector('#card-added-2').innerText.includes('Not added')")
                page.wait_for_function("document.querySelector('#card-minilm').innerText.includes('Predicts')")
                shown = " ".join(page.locator(s).inner_text() for s in
                                 ["#notice", "#card-minilm", "#card-added-0", "#card-added-1", "#card-added-2"])
                missing += [t for t in [*texts[:3], "'www.example.test.png'", "example.test/a"] if t not in shown]
                made += _made(page, ["#notice", "#agreement", *[f"#card-{k}" for k in LINEUP],
                                     *[f"#card-added-{slot}" for slot in range(3)]])
                page.get_by_text("Why? Heatmaps on the poster").click()
                page.locator("#explain").click()
                page.wait_for_function("document.querySelector('#explain-notes').innerText.includes('not explained')")
                if "'www.example.test.png'" not in page.locator("#explain-notes").inner_text():
                    missing.append("the poster's name in Why?")
                made += _made(page, ["#explain-notes"])
                page.wait_for_timeout(1000)  # an <img> made from the text would have been fetched by now
                live = _live(page, port)
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
    requests = list(_Pixel.seen)
    ok = not requests and not live and not made and not missing
    observed = (f"{len(texts)} hostile strings in titles, ids, genres, plot, custom genres, added ids, a file name: "
                f"{len(requests)} request(s) to the pixel server, {len(live)} live link(s)/image(s), "
                f"{made} mark(s) made from them on Your films, Compare, Why?; "
                + ("each shown as typed" if not missing else f"not shown as typed: {missing[:3]}"))
    return Outcome(ok, observed)


KINDS = [Kind(item=10, name="markup from a visitor's text",
              expected="text from a CSV or a visitor shown exactly as typed on every tab: no link, image, HTML or "
                       "formula from it, no request leaves the page",
              run=run)]
