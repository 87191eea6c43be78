"""Replay every kind of hostile or malformed input from issue 33 and print one line per kind.

    python tools/attack.py [--only NAME ...] [--out docs/reliability.md] [--workdir DIR]

Each kind (``tools/attack_kinds/``) tries its example and other members of its class on loopback or in
a child process, bounded in count and time, and stops by itself. A line reads
``ok|FAIL  #item name: observed [cost]``; exit 1 when any kind fails. ``--out`` rewrites the section of
that Markdown file between the ``attack.py`` markers (the rest of the file belongs to ``tools/stress.py``),
so every figure in it comes from this command.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools import attack_kinds  # noqa: E402 (the checkout's root is importable from here on)
from tools.attack_kinds.common import Kind, Outcome  # noqa: E402

BEGIN, END = "<!-- attack.py: begin -->", "<!-- attack.py: end -->"


def all_kinds() -> list[Kind]:
    """Every kind of every module in ``tools/attack_kinds``, in issue 33's order."""
    kinds = []
    for module in pkgutil.iter_modules(attack_kinds.__path__):
        if module.name != "common":
            kinds += importlib.import_module(f"tools.attack_kinds.{module.name}").KINDS
    return sorted(kinds, key=lambda kind: (kind.item, kind.name))


def replay(kind: Kind, workdir: Path) -> Outcome:
    """One kind's outcome; an exception in the replay itself is a failed kind, never a stopped run."""
    folder = workdir / f"{kind.item:02d}-{re.sub(r'[^a-z0-9]+', '-', kind.name.lower()).strip('-')}"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return kind.run(folder)
    except Exception as exc:  # the tool reports, it does not stop: the other kinds still run
        return Outcome(False, f"the replay raised {type(exc).__name__}: {exc}".splitlines()[0][:300]
                       + " | " + traceback.format_exc().strip().splitlines()[-1][:200])


def row_line(kind: Kind, outcome: Outcome) -> str:
    cell = lambda text: text.replace("|", "\\|").replace("\n", " ")  # noqa: E731
    return (f"| {kind.item} | {cell(kind.name)} | {cell(kind.expected)} | {cell(outcome.observed)} | "
            f"{cell(outcome.cost)} | {'ok' if outcome.ok else 'FAIL'} |")


def _key(line: str) -> tuple[int, str]:
    item, name = [cell.strip() for cell in line.split(" | ")[:2]]
    return int(item.lstrip("| ")), name


def markdown(lines: list[str], commands: list[str]) -> str:
    """The section: the command(s) that made its rows, the count, and one table row per kind, by item."""
    lines = sorted(lines, key=_key)
    ok = sum(line.endswith("| ok |") for line in lines)
    return "\n".join([BEGIN, "## Hostile and malformed inputs, one line per kind (issues 33 and 35)", "",
                      "; ".join(commands) + f". **{ok} of {len(lines)} kinds ok.** Cost: peak RSS and time of the bad "
                      "input against a normal input of the same rows or poster, each in a fresh process.", "",
                      "| # | kind | expected | observed | cost | verdict |", "|---|---|---|---|---|---|", *lines, END])


def write_section(path: Path, rows: list[tuple[Kind, Outcome]], command: str, seconds: float, partial: bool) -> None:
    """Rewrite ``path``'s section; with ``partial`` (``--only``) the rows of the kinds not run are kept, and the
    command that re-ran some is named beside the one that made the rest."""
    text = path.read_text() if path.exists() else "# Reliability\n"
    said = f"`{command}` ({time.strftime('%Y-%m-%d')}, {seconds / 60:.1f} min)"
    lines, commands = [row_line(kind, outcome) for kind, outcome in rows], [f"Command: {said}"]
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        old, after = rest.split(END, 1)
        if partial:
            run = {(kind.item, kind.name) for kind, _ in rows}
            kept = [line for line in old.splitlines() if line.startswith("| ") and line[2:3].isdigit()
                    and _key(line) not in run]
            first = next((line for line in old.splitlines() if line.startswith("Command: ")), "")
            commands = [first.split(". **")[0].split("; re-run: ")[0], f"re-run: {said} for {len(rows)} kind(s)"]
            lines += kept
        text = before + markdown(lines, commands) + after
    else:
        text = text.rstrip("\n") + "\n\n" + markdown(lines, commands) + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="kinds whose name contains one of these words")
    parser.add_argument("--out", type=Path, help="Markdown file whose attack.py section is rewritten")
    parser.add_argument("--workdir", type=Path, help="where inputs are built (default: a temporary folder)")
    args = parser.parse_args(argv)
    kinds = [k for k in all_kinds() if not args.only or any(w.lower() in k.name.lower() for w in args.only)]
    if not kinds:
        parser.error(f"no kind matches {args.only}; the kinds: {', '.join(k.name for k in all_kinds())}")
    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="genrelens-attack-") as temporary:
        workdir = args.workdir or Path(temporary)
        for kind in kinds:
            outcome = replay(kind, workdir)
            rows.append((kind, outcome))
            print(f"{'ok  ' if outcome.ok else 'FAIL'}  #{kind.item} {kind.name}: {outcome.observed}"
                  + (f" [{outcome.cost}]" if outcome.cost else ""), flush=True)
    seconds = time.perf_counter() - started
    failed = sum(not outcome.ok for _, outcome in rows)
    print(f"{len(rows) - failed} of {len(rows)} kinds ok ({seconds:.0f} s)")
    if args.out:
        only = " --only " + " ".join(f"'{word}'" if " " in word else word for word in args.only) if args.only else ""
        write_section(args.out, rows, f"python tools/attack.py{only} --out {args.out}", seconds, bool(args.only))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
