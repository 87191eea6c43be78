"""Re-check mutants from a finished ``mutmut run`` against the tests as they are now.

    python tools/recheck_mutants.py --tests tests/test_metrics.py -- NAME [NAME ...]
    python tools/recheck_mutants.py --survivors --tests tests/test_fusion.py tests/test_inference_path.py

mutmut maps tests to functions once per run, so tests written after that run are not used for it.
This copies the current ``tests/`` into ``mutants/``, runs the given test files once per mutant with
mutmut's own switch (``MUTANT_UNDER_TEST``), and prints killed / survived per mutant. It does not
change mutmut's result files; docs/testing.md reports both figures apart.

The tests first run once with no mutant active: ``mutants/`` holds the source of the mutmut run, and a
test written for later code may fail on it, which would count every mutant as killed. If they fail, it
stops and says which; ``--pytest-args "--deselect ..."`` leaves such tests out.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"


def survivors() -> list[str]:
    names = []
    for meta in sorted(MUTANTS.glob("genre_models/**/*.py.meta")):
        names += [k for k, v in json.loads(meta.read_text())["exit_code_by_key"].items() if v == 0]
    return names


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="mutant names (as `mutmut results` prints them)")
    parser.add_argument("--survivors", action="store_true", help="every mutant mutmut marked survived")
    parser.add_argument("--match", default="", help="only names containing this text")
    parser.add_argument("--tests", nargs="+", required=True, help="test files to run for each mutant")
    parser.add_argument("--pytest-args", default="", help='more pytest arguments, e.g. "--deselect tests/x.py::t"')
    args = parser.parse_args(argv)
    names = [n for n in (survivors() if args.survivors else args.names) if args.match in n]
    if not MUTANTS.is_dir() or not names:
        print("nothing to re-check: run `mutmut run` first, or name mutants", file=sys.stderr)
        return 1
    shutil.copytree(ROOT / "tests", MUTANTS / "tests", dirs_exist_ok=True)
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *args.tests,
               *shlex.split(args.pytest_args)]
    env = {k: v for k, v in os.environ.items() if k != "MUTANT_UNDER_TEST"}
    baseline = subprocess.run(command, cwd=MUTANTS, env={**env, "MUTANT_UNDER_TEST": "", "HF_HUB_OFFLINE": "1"},
                              capture_output=True, text=True, timeout=600)
    if baseline.returncode != 0:
        failed = [line for line in baseline.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
        print("the tests fail with no mutant active, so a failure would not mean a kill:\n  "
              + "\n  ".join(failed or baseline.stdout.splitlines()[-5:]), file=sys.stderr)
        return 1
    killed = 0
    for name in names:
        result = subprocess.run(command, cwd=MUTANTS, env={**env, "MUTANT_UNDER_TEST": name, "HF_HUB_OFFLINE": "1"},
                                capture_output=True, timeout=600)
        verdict = "killed" if result.returncode != 0 else "survived"
        killed += verdict == "killed"
        print(f"{verdict:8} {name}", flush=True)
    print(f"{killed} of {len(names)} killed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
