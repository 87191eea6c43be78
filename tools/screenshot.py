"""Regenerate the README's screenshots from the live app: desktop, phone, the Explain view, Results.

    python tools/screenshot.py [--models KEY ...] [--out docs]

Starts the real app (``app.build_demo``, the lineup as ``python app.py`` would load it on this
machine) on a free loopback port, compares the first public-domain example in Debian's chromium,
and writes ``screenshot.png`` (1400 px wide), ``screenshot-phone.png`` (390 px),
``screenshot-explain.png`` (the "Why?" view: heatmaps and highlighted plot words, for the genre each
model ranks first), and the Results tab at both widths: ``screenshot-results.png`` and
``screenshot-results-phone.png``. What the pictures show is what this machine's app shows: offline, the
plot models answer and the models without weights are folded into one notice.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _compare(page, poster: Path, plot: str) -> None:
    page.locator("#poster input[type=file]").set_input_files(str(poster))
    page.locator("#plot textarea").fill(plot)
    page.locator("#compare").click()
    page.wait_for_function("[...document.querySelectorAll('[id^=card-]')].some(c => c.innerText.includes('Predicts'))")
    page.wait_for_selector("#chart img", state="attached")  # drawn for both widths; one of them is shown
    page.wait_for_selector("#chart-narrow img", state="attached")
    page.wait_for_timeout(500)  # let the chart image paint


def _explain(page, path: Path) -> None:
    """Open "Why?", press Explain, and capture that part of the page once every plot model's words are in."""
    page.get_by_text("Why? Heatmaps on the poster").click()
    page.locator("#explain").click()
    page.wait_for_timeout(1000)
    # every output of the Explain event shows gradio's "processing | …" until the answer arrives
    page.wait_for_function("!document.querySelector('#explain-notes').closest('.block').parentElement"
                           ".innerText.includes('processing')")
    page.wait_for_timeout(500)
    accordion = page.get_by_text("Why? Heatmaps on the poster").locator("xpath=ancestor::div[contains(@class,'block')][1]")
    accordion.screenshot(path=str(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", help="lineup (default: every registered model)")
    parser.add_argument("--out", default=str(ROOT / "docs"))
    args = parser.parse_args(argv)

    import app
    from playwright.sync_api import sync_playwright

    from genre_models import ModelPool, list_models
    from genre_models.ports import free_port
    from genre_models.models import hub
    hub.ensure_hub_mode()
    keys = args.models or list_models()
    example = json.loads((app.ASSETS / "examples.json").read_text())[-1]  # Wings (1927)
    poster, plot = app.ASSETS / example["poster"], example["plot"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    demo = app.build_demo(keys, ModelPool())
    demo.queue()
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, css=app.CSS,
                theme=app.THEME, allowed_paths=[str(app.ASSETS)])
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for name, viewport in (("screenshot.png", {"width": 1400, "height": 1000}),
                                   ("screenshot-phone.png", {"width": 390, "height": 844})):
                page = browser.new_page(viewport=viewport)
                page.set_default_timeout(120_000)
                page.goto(f"http://127.0.0.1:{port}/")
                page.wait_for_selector("#compare")
                _compare(page, poster, plot)
                page.screenshot(path=str(out / name), full_page=True)
                print(f"wrote {out / name}")
                if name == "screenshot.png":
                    _explain(page, out / "screenshot-explain.png")
                    print(f"wrote {out / 'screenshot-explain.png'}")
                results = name.replace("screenshot", "screenshot-results")
                page.get_by_role("tab", name="Results").click()
                page.wait_for_timeout(1000)
                page.screenshot(path=str(out / results), full_page=True)
                print(f"wrote {out / results}")
                page.close()
            browser.close()
    finally:
        demo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
