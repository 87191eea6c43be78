"""Take the README's screenshot: the real app, the first public-domain example, every model.

    python tools/screenshot.py --out docs/screenshot.png

Starts app.py's page in this process on a free loopback port and drives Debian's chromium with
Playwright (never `playwright install`).
"""
from __future__ import annotations

import argparse
import json
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import app  # noqa: E402
from genre_models import ModelPool, list_models  # noqa: E402
from genre_models.models import hub  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="docs/screenshot.png")
    parser.add_argument("--example", type=int, default=4, help="index into assets/examples.json")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright
    hub.ensure_hub_mode()
    keys = list_models()
    demo = app.build_demo(keys, ModelPool())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                        allowed_paths=[str(app.ASSETS)])
    example = json.loads((app.ASSETS / "examples.json").read_text())[args.example]
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(f"http://127.0.0.1:{port}/")
            page.locator("#poster input[type=file]").set_input_files(str(app.ASSETS / example["poster"]))
            page.locator("#plot textarea").fill(example["plot"])
            page.locator("#compare").click()
            page.wait_for_function("document.querySelector('#card-minilm').innerText.includes('Predicts')")
            page.wait_for_selector("#chart img")
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.out, full_page=True)
            browser.close()
    finally:
        demo.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
