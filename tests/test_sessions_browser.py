"""Two visitors in two browser sessions send the same files: each keeps its own, and what a page was given
goes when it is closed (issue 33, items 1 and 2). Debian's chromium driven by Playwright."""
from __future__ import annotations

import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from app_server import running_app
from test_app_browser import ARGS, CHROMIUM
from test_your_films import write_films

pytestmark = pytest.mark.skipif(not shutil.which("chromium") and not Path(CHROMIUM).exists(),
                                reason="Debian chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser(tiny_clip_configs, tiny_bert_dir, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    from conftest import registered, tiny_specs
    with registered(tiny_specs(tmp_path_factory.mktemp("ckpt"), tiny_bert_dir)), running_app(["tiny-bert"]) as url:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            chromium.url = url
            yield chromium
            chromium.close()


def _visitor(browser, films: Path, posters: Path):
    """A page of its own browser context (its own gradio session) with both files uploaded, not evaluated."""
    page = browser.new_context(viewport={"width": 1400, "height": 1800}).new_page()
    page.set_default_timeout(60_000)
    page.goto(browser.url)
    page.get_by_role("tab", name="Your films").first.click()
    page.locator("#films-zip input[type=file]").set_input_files(str(posters))
    page.locator("#films-csv input[type=file]").set_input_files(str(films))
    page.wait_for_selector("#films-csv a")
    page.wait_for_selector("#films-zip a")
    return page


def _evaluate(page) -> None:
    page.locator("#evaluate").click()
    page.wait_for_function("document.querySelector('#films-table').innerText.includes('micro-F1')")


def _served_path(page, selector: str) -> Path:
    href = page.locator(f"{selector} a").first.get_attribute("href")
    return Path(urllib.parse.unquote(href.split("file=", 1)[1]))


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _until(condition, seconds: float = 15) -> bool:
    """The unload event reaches the server when the browser's connection drops: wait for what it does."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_a_closed_page_takes_only_its_own_files(browser, tmp_path):
    films, posters = write_films(tmp_path, n=6)
    first, second = _visitor(browser, films, posters), _visitor(browser, films, posters)
    # gradio stores the same bytes at one path for both visitors: the premise of the fault
    uploads = [_served_path(first, "#films-csv"), _served_path(first, "#films-zip")]
    assert uploads == [_served_path(second, "#films-csv"), _served_path(second, "#films-zip")]
    _evaluate(first)
    link = first.locator("#films-download a").first.get_attribute("href")
    returned = browser.url.rstrip("/") + link if not link.startswith("http") else link
    assert _status(returned) == 200
    first.close()
    # the closed page's predictions are no longer served, and no copy of them is left on the server
    assert _until(lambda: _status(returned) != 200), "the closed page's predictions.csv is still served"
    assert _status(returned) in (403, 404)
    assert not Path(urllib.parse.unquote(returned.split("file=", 1)[1])).exists()
    # the other visitor, who had uploaded the same files but not yet evaluated them, still has them
    assert all(upload.is_file() for upload in uploads)
    _evaluate(second)
    assert "6 films scored" in second.locator("#films-table").inner_text()
    shown = second.locator("#films-notice").inner_text() + second.locator("#films-table").inner_text()
    assert str(uploads[0].parent.parent) not in shown and "/tmp" not in shown
    link = second.locator("#films-download a").first.get_attribute("href")
    own = browser.url.rstrip("/") + link if not link.startswith("http") else link
    assert own != returned and _status(own) == 200
    second.close()
    # once no page holds them, the uploads go too, with the last page's predictions
    assert _until(lambda: not any(upload.exists() for upload in uploads) and _status(own) != 200)


def test_an_upload_gone_from_the_server_is_named_by_its_name_only(browser, tmp_path):
    films, posters = write_films(tmp_path, n=3)
    page = _visitor(browser, films, posters)
    upload = _served_path(page, "#films-csv")
    upload.unlink()  # as gradio's hourly clean-up removes an upload over an hour old
    page.locator("#evaluate").click()
    page.wait_for_function("document.querySelector('#films-notice').innerText.length > 0")
    notice = page.locator("#films-notice").inner_text().strip()
    assert notice == ("⚠️ the films CSV 'films.csv' is no longer on the server (an upload is kept at least an hour): "
                      "upload it again")
    page.close()
