"""A deploy the Hub accepts: every binary or large tracked file is under an LFS pattern, and the README's
`hf upload` sends what the app needs and none of a developer's leftovers."""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LARGE = 1_000_000  # bytes: the Hub refuses binaries over 1 MB outside LFS (and any file over 10 MiB)

needs_git = pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                               reason="needs a git checkout of the project")


def files_outside_lfs(repo: Path) -> list[str]:
    """Tracked files the Hub would refuse outside LFS (binary, or over 1 MB) that no LFS pattern matches.

    Binary as git judges it: a NUL byte in the first 8,000 bytes. Patterns are read by git itself
    (`git check-attr filter`), so they mean exactly what they will mean on a push.
    """
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=repo, capture_output=True, check=True).stdout
    tracked = [name for name in listed.decode().split("\0") if name]

    def needs_lfs(name: str) -> bool:
        path = repo / name
        with path.open("rb") as handle:
            head = handle.read(8000)
        return path.stat().st_size > LARGE or b"\0" in head

    candidates = [name for name in tracked if needs_lfs(name)]
    if not candidates:
        return []
    attrs = subprocess.run(["git", "check-attr", "-z", "filter", "--", *candidates], cwd=repo,
                           capture_output=True, check=True).stdout.decode().split("\0")
    # -z output: path, attribute, value, repeated
    filters = {attrs[i]: attrs[i + 2] for i in range(0, len(attrs) - 2, 3)}
    return sorted(name for name in candidates if filters.get(name) != "lfs")


@needs_git
def test_every_binary_or_large_tracked_file_is_under_an_lfs_pattern():
    assert files_outside_lfs(ROOT) == []
    # the files that made a push fail before .gitattributes existed are among those covered
    for name in ["checkpoints/minilm/backbone.safetensors", "checkpoints/tfidf/model.safetensors",
                 "checkpoints/tfidf/vocabulary.json", "docs/screenshot.png", "assets/posters/wings_1927.jpg"]:
        out = subprocess.run(["git", "check-attr", "filter", "--", name], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
        assert out.strip().endswith("filter: lfs"), out


@needs_git
def test_the_lfs_check_finds_a_file_no_pattern_covers(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    shutil.copy(ROOT / ".gitattributes", tmp_path / ".gitattributes")
    (tmp_path / "weights.safetensors").write_bytes(b"\0" * 10)       # binary, matched
    (tmp_path / "model.dat").write_bytes(b"\0\1\2" * 10)              # binary, no pattern
    (tmp_path / "big.txt").write_text("x" * (LARGE + 1))              # text over 1 MB, no pattern
    (tmp_path / "small.txt").write_text("fine")
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    assert files_outside_lfs(tmp_path) == ["big.txt", "model.dat"]


def _upload_command() -> list[str]:
    text = (ROOT / "README.md").read_text()
    blocks = [b for b in re.findall(r"```bash\n(.*?)\n```", text, re.S) if "hf upload YOUR_NAME/genrelens " in b]
    assert blocks, "the README's deploy section must show the `hf upload` command"
    lines = blocks[0].replace("\\\n", " ").splitlines()
    (upload,) = [line for line in lines if " upload " in line]
    return shlex.split(upload)


def test_the_readme_upload_sends_the_app_and_leaves_the_rest(tmp_path):
    """An allow-list (issue 35): what the Space runs goes up; a developer's files, whatever their names, stay."""
    from huggingface_hub.utils import filter_repo_objects
    args = _upload_command()
    assert args[1:3] == ["upload", "YOUR_NAME/genrelens"] and args[3:5] == [".", "."]
    assert args[args.index("--repo-type") + 1] == "space"
    includes = [args[i + 1] for i, a in enumerate(args) if a == "--include"]
    excludes = [args[i + 1] for i, a in enumerate(args) if a == "--exclude"]
    assert includes, "the upload names what it sends (--include), not only what it leaves out"
    project = [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*") if p.is_file()
               and not p.relative_to(ROOT).as_posix().startswith((".git/", ".venv"))]
    leftovers = [".venv/bin/python", ".venv-ci-space/lib/x.py", "genre_models/__pycache__/app.cpython-312.pyc",
                 ".pytest_cache/v/cache", ".gradio/flagged/x.csv", "runs/one/log.txt", "features_cache/a.pt",
                 "mutants/genre_models/x.py", "tests/test_deploy.py", "tools/stress.py", "bench/__main__.py",
                 # the README's evaluate example, and whatever else a developer leaves in the folder
                 "my_films.csv", "posters.zip", "posters/f1.png", "notes.txt", ".env", "secrets.json",
                 "checkpoints/.minilm.partial-x1y2/model.safetensors", "docs/evaluation/sweeps/x.json",
                 "assets/posters/.DS_Store", "genre_models/scratch.ipynb"]
    sent = set(filter_repo_objects(project + leftovers, allow_patterns=includes, ignore_patterns=excludes))
    assert not sent & set(leftovers)
    needed = ["app.py", "requirements.txt", "README.md", ".gitattributes", "assets/examples.json",
              "checkpoints/minilm/backbone.safetensors", "checkpoints/tfidf/vocabulary.json",
              "genre_models/zerogpu.py", "docs/evaluation/evaluation.json"]
    assert set(needed) <= sent
    # every module the app imports goes up
    assert {p for p in project if p.startswith("genre_models/") and p.endswith(".py")} <= sent
