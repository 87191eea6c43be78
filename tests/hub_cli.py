"""Run a GenreLens command in a fresh process with the tests' tiny open_clip architecture known to open_clip.

    python tests/hub_cli.py download --model-config cfg.json hub-clip
    python tests/hub_cli.py app --model-config cfg.json --port 7861

A real model's architecture and its ``openai`` weights' hub repo are built into open_clip; a tiny
test architecture is not, so this registers it (``open_clip.add_model_config`` and a pretrained tag
naming its repo on the loopback hub) from ``GENRELENS_TEST_CLIP`` (a JSON file) and then calls the
command's own ``main(argv)``. Nothing else differs from ``python -m genre_models.<command>``.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from tests/: the project is importable as with `python -m`


def register_tiny_clip(spec_file: str | Path) -> None:
    import open_clip
    from open_clip import pretrained
    spec = json.loads(Path(spec_file).read_text())
    open_clip.add_model_config(spec["config_dir"])
    for arch, repo in spec["repos"].items():
        pretrained._PRETRAINED[arch] = {"openai": pretrained._pcfg(hf_hub=f"{repo}/", quick_gelu=True)}


def main(argv: list[str]) -> int:
    if os.environ.get("GENRELENS_TEST_CLIP"):
        register_tiny_clip(os.environ["GENRELENS_TEST_CLIP"])
    command, rest = argv[0], argv[1:]
    if command == "app":
        import app
        return app.main(rest)
    from importlib import import_module
    return import_module(f"genre_models.cli.{command}").main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
