"""Summarise a finished ``mutmut run`` per module, as the table in docs/testing.md.

    HF_HUB_OFFLINE=1 .venv/bin/mutmut run && .venv/bin/python tools/mutation_summary.py

Reads mutmut's own result files (``mutants/**/*.py.meta``). The score is mutmut's: (killed +
timeout) / (mutants that had tests and ran); survivors are listed by name for ``mutmut show``.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KILLED, TIMEOUT = {1, 3}, {36, -24, 24, 152, 255}


def main() -> int:
    metas = sorted((ROOT / "mutants").glob("genre_models/**/*.py.meta"))
    if not metas:
        print("no mutmut results: run `mutmut run` first", file=sys.stderr)
        return 1
    rows, survivors, totals = [], [], Counter()
    for meta in metas:
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        count = Counter()
        for name, code in codes.items():
            kind = ("not run" if code is None else "killed" if code in KILLED else "timeout" if code in TIMEOUT
                    else "survived" if code == 0 else "no tests" if code in (5, 33) else "other")
            count[kind] += 1
            if kind == "survived":
                survivors.append(name)
        totals.update(count)
        module = str(meta.relative_to(ROOT / "mutants"))[:-len(".meta")]
        rows.append((module, len(codes), count))
    print("| module | mutants | killed | timeout | survived | no tests | not run | score |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for module, n, c in rows + [("**all**", sum(r[1] for r in rows), totals)]:
        ran = c["killed"] + c["timeout"] + c["survived"]
        score = f"{100 * (c['killed'] + c['timeout']) / ran:.1f}%" if ran else "–"
        print(f"| {module} | {n} | {c['killed']} | {c['timeout']} | {c['survived']} | {c['no tests']} | "
              f"{c['not run']} | {score} |")
    print("\nSurvivors:")
    for name in survivors:
        print(f"- `{name}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
