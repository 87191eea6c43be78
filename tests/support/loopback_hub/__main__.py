"""Build the default models' repos (random-init, full size) and serve them on 127.0.0.1.

    python -m genre_models.loopback_hub                    # every default model, a free port
    python -m genre_models.loopback_hub --port 8765 --models clip-vit-b-16 bert-base
    python -m genre_models.loopback_hub --repo me/genrelens-heads=reproduction   # and a heads folder

Then, in another shell: ``HF_ENDPOINT=http://127.0.0.1:8765 python -m genre_models.download``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from genre_models.errors import ConfigError, GenreLensError
from genre_models.models.hub import check_repo_id
from genre_models.cli.options import ModelsOptions, add_deprecated_spelling, add_options, options_from
from .repos import DEFAULT_ROOT, build_repos
from .server import LoopbackHub


def repo_folder(text: str) -> tuple[str, Path]:
    """argparse type for ``--repo OWNER/NAME=FOLDER``."""
    repo, sep, folder = text.partition("=")
    try:
        if not sep:
            raise ConfigError(f"expected OWNER/NAME=FOLDER, got {text!r}")
        check_repo_id(repo, "--repo")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not Path(folder).expanduser().is_dir():
        raise argparse.ArgumentTypeError(f"{folder!r} is not a folder")
    return repo, Path(folder).expanduser().resolve()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genre_models loopback-hub", description=__doc__.split("\n")[0])
    add_options(parser, ModelsOptions)
    add_deprecated_spelling(parser, field="models", instead="--models KEY [KEY ...]")
    parser.add_argument("--root", default=str(DEFAULT_ROOT), help="where built repos are kept (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--throttle", type=int, default=None, metavar="BYTES_PER_S",
                        help="slow file bodies down (to try interrupted downloads)")
    parser.add_argument("--build-only", action="store_true", help="build the repos, do not serve")
    parser.add_argument("--repo", type=repo_folder, action="append", default=[], metavar="OWNER/NAME=FOLDER",
                        help="also serve FOLDER as repo OWNER/NAME, as it is (repeatable): e.g. heads "
                        "that `reproduce --out FOLDER` wrote")
    args = parser.parse_args(argv)
    try:
        repos = build_repos(options_from(args, ModelsOptions).specs(), args.root)
    except GenreLensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.build_only:
        return 0
    try:
        hub = LoopbackHub(args.root, port=args.port, throttle=args.throttle, folders=dict(args.repo))
    except OSError as exc:
        print(f"error: cannot listen on 127.0.0.1:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"serving {len(repos)} repos from {args.root}"
          + "".join(f", {repo} from {folder}" for repo, folder in args.repo) + f"\nexport HF_ENDPOINT={hub.endpoint}", flush=True)
    try:
        hub.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    from genre_models.cli import run

    sys.exit(run(main))
