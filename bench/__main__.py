"""``python -m bench [overhead zeroshot extract startup growth explain plot conse films] [--write docs/benchmarks.md] [--quick]``"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here downloads; a miss must fail fast
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

BENCHMARKS = ("overhead", "zeroshot", "extract", "startup", "growth", "explain", "plot", "conse", "films")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    p.add_argument("--write", metavar="FILE", help="write the results as Markdown (docs/benchmarks.md)")
    p.add_argument("--workdir", default=str(Path.home() / ".cache" / "genrelens" / "bench"),
                   help="random-weight BERT-base, heads and test images are kept here between runs")
    p.add_argument("--quick", action="store_true", help="fewer repeats and posters: a smoke run, not figures")
    args = p.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        print(f"error: unknown benchmark(s) {', '.join(unknown)}; valid: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    import importlib

    import torch

    from .common import machine
    names = args.names or list(BENCHMARKS)
    workdir = Path(args.workdir)
    # the app's examples cache of the benchmark's lineup stays out of the project folder
    os.environ.setdefault("GRADIO_EXAMPLES_CACHE", str(workdir / "gradio-examples"))
    options = {"overhead": {"repeat": 2 if args.quick else 5}, "zeroshot": {"repeat": 2 if args.quick else 5},
               "extract": {"limit": 64, "raw_batches": 2} if args.quick else {},
               "startup": {"runs": 1 if args.quick else 3}, "growth": {"repeat": 1 if args.quick else 3},
               "explain": {"repeat": 1 if args.quick else 3}, "plot": {"repeat": 10 if args.quick else 40},
               "conse": {"repeat": 3 if args.quick else 40},
               "films": {"films": 200, "repeat": 1} if args.quick else {}}
    torch.set_num_threads(os.cpu_count() or 1)
    print(f"machine: {machine()}", flush=True)
    results, started = [], time.perf_counter()
    for name in names:
        print(f"\n[{name}]", flush=True)
        start = time.perf_counter()
        result = importlib.import_module(f"bench.{name}").run(workdir, **options[name])
        result.seconds = time.perf_counter() - start
        result.print_ratios()
        results.append(result)
    total = time.perf_counter() - started
    print(f"\nall ratios ({total:.0f} s):")
    for result in results:
        result.print_ratios()
    if args.write:
        command = "python -m bench " + shlex.join(list(sys.argv[1:] if argv is None else argv))
        write_report(Path(args.write), results, command, total, partial=set(names) != set(BENCHMARKS))
        print(f"wrote {args.write}")
    return 0


def write_report(path: Path, results, command: str, total: float, partial: bool) -> None:
    """The run as Markdown. A run of some benchmarks replaces only their sections of an existing report,
    each marked with its own command, so the file always says which run every figure comes from."""
    import datetime

    from .common import machine
    today = datetime.date.today().isoformat()
    header = ["# Benchmarks", "", f"Command: `{command}` ({today}, {total / 60:.1f} min in all)", "",
              f"Machine: {machine()}.", "",
              "Full-size architectures run with random weights (they cost what pretrained ones do); MiniLM "
              "with its real weights and shipped checkpoint. Ratios are taken within one run; absolute times "
              "move from run to run on a shared machine.", ""]
    sections = {r.name: r.markdown() for r in results}
    if partial and path.is_file():
        head, *chunks = path.read_text().split("\n## ")
        header = head.split("\n")
        old = {chunk.split()[0]: ("## " + chunk).rstrip("\n").split("\n") + [""] for chunk in chunks}
        for name, lines in sections.items():
            sections[name] = [lines[0], "", f"_This section: `{command}` ({today}, {machine()}); the others come "
                              "from the command above._", *lines[1:]]
        sections = {**old, **sections}
    lines = list(header)
    for name in [*BENCHMARKS, *sections]:
        if name in sections:
            lines += sections.pop(name)
    path.write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
