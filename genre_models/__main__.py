"""One entry point for every command: ``python -m genre_models <command> [options]``.

Installed (``pip install -e .``), the same is ``genre-models <command>``. Each command is its own
``main(argv)``; ``python -m genre_models.<command>`` keeps working: ``genre_models/<command>.py`` is
two lines calling :func:`command_module`, which runs the same function through this entry point.
"""
from __future__ import annotations

import sys
from importlib import import_module
from typing import Callable, Sequence

# command -> (module holding its main(argv), what it does)
COMMANDS = {
    "predict": ("genre_models.cli.predict", "every chosen model's genres for one poster and/or plot"),
    "download": ("genre_models.cli.download", "prefetch weights (and --heads) into the Hugging Face cache"),
    "train": ("genre_models.cli.train", "train a model's genre head (or fine-tune, fit TF-IDF or a blend)"),
    "evaluate": ("genre_models.cli.evaluate", "score models and baselines on a films CSV's test split"),
    "reproduce": ("genre_models.cli.reproduce", "the thesis in one run: features, heads, fusion, evaluation"),
    "dataset": ("genre_models.cli.dataset", "build a films CSV from IMDb ids and OMDb"),
    "loopback-hub": ("genre_models.loopback_hub", "serve full-size test repos on 127.0.0.1"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    return "\n".join(["usage: python -m genre_models <command> [options]   (installed: genre-models <command>)",
                      "", "commands:", *(f"  {name:<{width}}  {what}" for name, (_, what) in COMMANDS.items()),
                      "", "`<command> --help` for a command's options."])


def dispatch(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(usage(), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"error: unknown command {command!r}; valid: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    return import_module(COMMANDS[command][0]).main(rest)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``argv`` (default: the command line) as ``<command> [options]``; returns the exit code."""
    from .cli import run  # Ctrl+C and a closed pipe end in one line, never a traceback
    return run(lambda: dispatch(list(sys.argv[1:] if argv is None else argv)))


def command_module(name: str, spec) -> Callable[[Sequence[str] | None], int]:
    """The body of ``genre_models/<command>.py`` (``__name__``, ``__spec__``): run as ``python -m
    genre_models.<command>``, run the command and exit; imported, return its ``main(argv)``."""
    command = spec.name.rpartition(".")[2]
    if name == "__main__":
        sys.exit(main([command, *sys.argv[1:]]))
    return import_module(COMMANDS[command][0]).main


if __name__ == "__main__":
    sys.exit(main())
