"""Render an evaluation report again from its ``evaluation.json``: same numbers, current layout.

    python tools/render_evaluation.py docs/evaluation

Rewrites ``evaluation.md`` and ``per_genre_f1.png`` (and ``evaluation.json``, unchanged) in the folder;
the command that measured the numbers stays recorded in them. Nothing is scored again.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from genre_models.training.report import Report  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a folder written by `python -m genre_models.evaluate --out`")
    args = parser.parse_args(argv)
    source = args.folder / "evaluation.json"
    if not source.is_file():
        print(f"error: no evaluation.json in {args.folder}", file=sys.stderr)
        return 2
    Report.from_json(source).write(args.folder)
    print(f"rendered {args.folder / 'evaluation.md'} and per_genre_f1.png from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
