"""The command lines GenreLens shows a user (a card's fix, a page's hint), as they run when pasted.

A fix once read ``python -m genre_models.download --models KEY``: pasted into a new terminal, ``python``
is whatever the shell finds first, not the environment GenreLens runs in, and the command ended in
``ModuleNotFoundError: No module named 'PIL'`` (issue 35). So a command names the interpreter running
now: relative to the repository folder when it lives there (``.venv/bin/python``, the README's install),
as ``python`` or ``python3`` when that name on the PATH is this interpreter, else by its path (``~`` for
the home folder). Commands are meant to be pasted in the repository folder, as the README's are.
"""
from __future__ import annotations

import functools
import os
import shlex
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def interpreter() -> str:
    """This process's Python as a shell word that starts it from the repository folder."""
    # sys.executable is kept as it is, not resolved: a virtual environment's python is a link to the base
    # interpreter, and only the link's own path starts it inside the environment
    running = os.path.abspath(sys.executable) if sys.executable else ""
    if not running:
        return "python"
    # the repository as reached (a link to it, unresolved) and as it is (resolved)
    for root in dict.fromkeys((Path(os.path.abspath(__file__)).parent.parent, ROOT)):
        if Path(running).is_relative_to(root):
            return shlex.quote(str(Path(running).relative_to(root)))
    for name in ("python", "python3"):
        found = shutil.which(name)
        if found and os.path.abspath(found) == running:
            return name
    home = os.path.expanduser("~")
    if home not in ("", "/") and Path(running).is_relative_to(home):
        return "~/" + shlex.quote(str(Path(running).relative_to(home)))
    return shlex.quote(running)


def command(name: str, *args: str) -> str:
    """``python -m genre_models NAME ARGS...`` with this process's interpreter, each argument quoted for a
    POSIX shell where it needs it: ``command("download", "--models", "clip-vit-b-16")`` ->
    ``.venv/bin/python -m genre_models download --models clip-vit-b-16`` in the README's install."""
    return " ".join([interpreter(), "-m", "genre_models", name, *map(shlex.quote, args)])
