"""What every attack kind shares: the kind itself, its outcome, and a measured child process.

A kind's cost (peak RSS, seconds) is measured in a fresh ``python`` process, so one kind's memory never
shows in another's figure and the number is the operating system's own (``ru_maxrss`` of the child).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Outcome:
    """What one kind's replay found. ``ok``: the expected behaviour held for every input tried.
    ``observed``: one line, what happened (a refusal's message, or the answer). ``cost``: the measured
    figures against a normal input (peak RSS in MB and seconds), or "" where cost is not the point."""
    ok: bool
    observed: str
    cost: str = ""


@dataclass
class Kind:
    """One class of fault: ``item`` its number in issue 33, ``name`` a short label, ``expected`` the
    behaviour a user and a Space host expect, ``run(workdir)`` the replay (``workdir``: an empty folder
    of its own)."""
    item: int
    name: str
    expected: str
    run: Callable[[Path], Outcome]


@dataclass
class Measured:
    seconds: float
    peak_mb: float
    stdout: str
    returncode: int

    def result(self):
        """The child's last stdout line parsed as JSON (what the snippet printed with ``json.dumps``)."""
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        return json.loads(lines[-1]) if lines else None


def measure(code: str, *, timeout: float = 300, env: dict | None = None) -> Measured:
    """Run ``code`` (Python source) in a fresh interpreter at the checkout's root and return its wall
    seconds, peak resident memory (MB, ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` of a child measured
    alone: the measurement runs in its own grandchild so earlier children never count) and stdout."""
    wrapper = textwrap.dedent(f"""
        import json, resource, subprocess, sys, time
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", {code!r}], capture_output=True, text=True, timeout={timeout})
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(json.dumps({{"seconds": time.perf_counter() - started, "peak_mb": peak, "stdout": done.stdout,
                          "stderr": done.stderr[-2000:], "returncode": done.returncode}}))
    """)
    child_env = dict(os.environ if env is None else env)
    child_env.setdefault("HF_HUB_OFFLINE", "1")
    child_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), child_env.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, cwd=ROOT,
                          env=child_env, timeout=timeout + 30)
    data = json.loads(done.stdout.strip().splitlines()[-1])
    if data["returncode"] != 0:
        data["stdout"] += "\n" + json.dumps({"error": data["stderr"].strip().splitlines()[-1:]})
    return Measured(data["seconds"], data["peak_mb"], data["stdout"], data["returncode"])


def against(bad: Measured, normal: Measured) -> str:
    """``"peak 512 MB vs 480 MB (1.07x), 0.9 s vs 0.8 s"``: a bad input's cost beside a normal one's."""
    return (f"peak {bad.peak_mb:.0f} MB vs {normal.peak_mb:.0f} MB ({bad.peak_mb / max(normal.peak_mb, 1):.2f}x), "
            f"{bad.seconds:.1f} s vs {normal.seconds:.1f} s")
