"""The one app launcher (tests/support/app_launcher.py), driven with a stand-in app that starts in a blink:
the real app goes through it in test_space_launch, test_hub_heads, test_stress and the benchmarks."""
from __future__ import annotations

import sys

import httpx
import pytest

from tests.support.app_launcher import AppExited, AppProcess

# listens where app.py would: --port, else $GRADIO_SERVER_PORT; says a word first so the log has output
STAND_IN = """
import os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
if "--exit" in sys.argv:
    print("cannot start: told to exit", flush=True)
    sys.exit(3)
port = int(sys.argv[sys.argv.index("--port") + 1]) if "--port" in sys.argv else int(os.environ["GRADIO_SERVER_PORT"])
class Page(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"page")
    def log_message(self, *args):
        pass
print("listening", flush=True)
HTTPServer(("127.0.0.1", port), Page).serve_forever()
"""


def _stand_in(*args, **kwargs) -> AppProcess:
    return AppProcess(list(args), program=[sys.executable, "-c", STAND_IN], **kwargs)


def test_start_waits_for_the_page_then_measures_kills_and_restarts(tmp_path):
    log = tmp_path / "app.log"
    with _stand_in(log=log) as app:
        assert app.env["GRADIO_SERVER_PORT"] == str(app.port) and app.url == f"http://127.0.0.1:{app.port}/"
        assert httpx.get(app.url).text == "page" and 1 < app.rss_mb() < 1000
        app.kill9()
        assert app.process.returncode == -9
        with pytest.raises(httpx.ConnectError):
            httpx.get(app.url)
        assert 0 < app.start() < 60  # the same port again, as the stress run's kill -9 row restarts it
        assert httpx.get(app.url).status_code == 200
    assert app.process.returncode is not None  # stopped on leaving the block
    assert log.read_text().count("listening") == 2  # a log the caller names is kept, appended to


def test_an_app_that_exits_first_is_said_with_its_output():
    app = _stand_in("--exit")
    with pytest.raises(AppExited, match="exited with 3: cannot start: told to exit"):
        app.start(timeout=60)
    app.stop()
    assert not app.log.exists()  # its own temporary log is removed


def test_a_port_flag_is_left_as_the_caller_wrote_it():
    env = {"GRADIO_SERVER_PORT": "1", "PATH": ""}
    app = _stand_in("--port", "0", env=env, port=12345)
    assert app.env == env and app.url.endswith(":12345/")
    app.stop()
