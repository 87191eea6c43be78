"""files.py: whole-file writes and folder swaps never leave a half-written file or folder in place."""
from __future__ import annotations

from pathlib import Path

import pytest

import genre_models.files as files


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "config.json"
    files.write_text_atomic(path, "old")
    monkeypatch.setattr(files.os, "replace", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        files.write_text_atomic(path, "new")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["config.json"]
    monkeypatch.undo()
    files.write_text_atomic(path, "new")
    assert path.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["config.json"]


def test_a_staged_folder_is_swapped_in_after_its_hook(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "kept.txt").write_text("from the old folder")
    seen = []

    def carry(old: Path, new: Path):
        seen.append(sorted(p.name for p in new.iterdir()))
        (new / "kept.txt").write_text((old / "kept.txt").read_text())

    with files.staged_folder(target, before_swap=carry) as staging:
        (staging / "weights").write_text("new")
    assert seen == [["weights"]]  # the hook saw everything the block wrote
    assert sorted(p.name for p in target.iterdir()) == ["kept.txt", "weights"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]

    def refuse(old: Path, new: Path):
        raise RuntimeError("the card does not carry over")

    with pytest.raises(RuntimeError):
        with files.staged_folder(target, before_swap=refuse) as staging:
            (staging / "weights").write_text("newer")
    assert (target / "weights").read_text() == "new"  # a failing hook leaves the target as it was
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # and removes the partial folder


def test_a_swap_that_fails_puts_the_old_folder_back(tmp_path, monkeypatch):
    target, new = tmp_path / "ckpt", tmp_path / "new"
    target.mkdir()
    (target / "old.txt").write_text("old")
    new.mkdir()
    (new / "new.txt").write_text("new")
    real = files.os.replace
    calls = []

    def replace(src, dst):
        calls.append((Path(src).name, Path(dst).name))
        if len(calls) == 2:  # the old folder is aside; putting the new one in fails
            raise OSError("disk full")
        return real(src, dst)

    monkeypatch.setattr(files.os, "replace", replace)
    with pytest.raises(OSError, match="disk full"):
        files.replace_folder(new, target)
    assert (target / "old.txt").read_text() == "old" and (new / "new.txt").is_file()
    assert calls[0][1].startswith(".ckpt.old-") and calls[2] == (calls[0][1], "ckpt")
    monkeypatch.setattr(files.os, "replace", real)
    files.replace_folder(new, target)
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # the old one is gone
