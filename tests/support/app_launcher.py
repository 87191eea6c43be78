"""Start the app as a user does (``python app.py ...``) in its own process on a loopback port.

One launcher for the tests (``tests/app_server.py``), the startup benchmark (``bench/startup.py``) and
the stress run (``tools/stress.py``): its own process so it can be timed from cold, measured (RSS) and
killed with SIGKILL mid-request, then started again on the same port.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Mapping, Sequence

from genre_models.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


class AppExited(RuntimeError):
    """The app's process ended before its page was served (the message ends with its last output)."""


class AppProcess:
    """``python app.py ARGS`` (or ``program ARGS``) listening on 127.0.0.1:``port``, which it is told through
    ``GRADIO_SERVER_PORT`` as a host such as Spaces tells it, unless ``args`` give ``--port`` themselves.

    Args:
        args: the app's options.
        env: its whole environment (default: this process's).
        port: where it listens (default: a free one).
        program: what runs before ``args`` (default ``python app.py``; the tests' ``tests/hub_cli.py app``).
        log: a file its output is appended to (default: a temporary file, removed by :meth:`stop`).
    """

    def __init__(self, args: Sequence[str] = (), *, env: Mapping[str, str] | None = None, port: int | None = None,
                 program: Sequence[str] | None = None, log: Path | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.command = [*(program or [sys.executable, str(ROOT / "app.py")]), *args]
        self.env = dict(os.environ if env is None else env)
        if "--port" not in args:  # else the caller chose how it is told (a test of the flag beating the variable)
            self.env["GRADIO_SERVER_PORT"] = str(self.port)
        self._own_log = log is None
        self.log = Path(tempfile.mkstemp(prefix="genrelens-app-", suffix=".log")[1]) if log is None else Path(log)
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> float:
        """Start it and return the seconds until its page answered HTTP 200.

        Raises AppExited if it ends first, TimeoutError if the page is not served within ``timeout``.
        """
        started = time.perf_counter()
        with open(self.log, "ab") as log:  # the child keeps its own copy of the file open
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT)
        while time.perf_counter() - started < timeout:
            if self.process.poll() is not None:
                raise AppExited(f"the app exited with {self.process.returncode}: {self.output()[-4000:]}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except (OSError, urllib.error.HTTPError):
                pass  # not listening yet
            time.sleep(0.05)  # fine enough for the startup benchmark's seconds
        raise TimeoutError(f"the app did not serve {self.url} within {timeout:.0f} s; see {self.log}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def rss_mb(self, field: str = "VmRSS") -> float:
        """The app's resident memory now (``VmHWM``: its peak so far), in MB (Linux's /proc)."""
        with open(f"/proc/{self.process.pid}/status") as status:
            kb = next(int(line.split()[1]) for line in status if line.startswith(field + ":"))
        return kb / 1024

    def kill9(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: no cleanup runs."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; a temporary log is removed."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
        if self._own_log:
            self.log.unlink(missing_ok=True)

    def __enter__(self) -> "AppProcess":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
