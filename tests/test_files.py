"""files.py: whole-file writes and folder swaps never leave a half-written file or folder in place."""
from __future__ import annotations

import errno
import json
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


# -- a full disk (issue 33, item 18): real ENOSPC on a small tmpfs, filled ----------------------------------------
@pytest.fixture
def full(tmp_path):
    from tests.support.full_disk import fill, small_disk
    with small_disk(tmp_path / "disk") as disk:
        files.write_text_atomic(disk / "config.json", "old")  # written while there was room
        fill(disk)
        yield disk


@pytest.mark.parametrize("write", [lambda p: files.write_text_atomic(p, "new " * 10_000),
                                   lambda p: files.write_bytes_atomic(p, b"\1" * 100_000)])
def test_a_full_disk_keeps_the_old_file_leaves_no_part_and_is_said_as_such(full, write):
    from tests.support.full_disk import contents
    with pytest.raises(OSError) as info:
        write(full / "config.json")
    assert files.is_disk_full(info.value)
    assert str(full) not in files.disk_full_message(info.value)  # the file's name, never its folder
    assert files.disk_full_message(info.value, "the server's disk") == (
        "the server's disk is full (no space left on the device): config.json could not be written; "
        "free some space and try again")
    assert (full / "config.json").read_text() == "old" and contents(full) == ["config.json"]


def test_a_library_saying_the_disk_is_full_in_its_own_words_is_recognised(full):
    import numpy as np
    from safetensors.numpy import save_file
    with pytest.raises(Exception) as info:  # safetensors' own error type (Rust), not an OSError
        save_file({"x": np.zeros(50_000, np.float32)}, str(full / "part.safetensors"))
    assert not isinstance(info.value, OSError) and files.is_disk_full(info.value)
    assert files.disk_full_message(info.value).startswith("the disk is full (no space left on the device)")


def test_other_failures_are_not_called_a_full_disk(tmp_path):
    with pytest.raises(OSError) as info:
        files.write_text_atomic(tmp_path / "no-such-folder" / "x.json", "{}")
    assert not files.is_disk_full(info.value)
    assert not files.is_disk_full(ValueError("a plot that says: No space left on device"))
    try:  # raised while handling a full disk: the chain is read
        try:
            raise OSError(errno.EDQUOT, "Disk quota exceeded")
        except OSError:
            raise RuntimeError("cleanup failed")
    except RuntimeError as exc:
        assert files.is_disk_full(exc)


# -- names built from a key, JSON as the standard has it (items 16, 17) -----------------------------------------
@pytest.mark.parametrize("name", ["../../x", "..", ".", "", "a/b", "a\\b", "/etc", "a\0b"])
def test_a_name_with_path_parts_never_leaves_its_folder(tmp_path, name):
    with pytest.raises(ValueError, match="not a plain file name"):
        files.child_path(tmp_path, name)


def test_plain_names_stay_inside(tmp_path):
    assert files.child_path(tmp_path, "minilm-plot-0a1b") == tmp_path / "minilm-plot-0a1b"
    assert files.child_path(tmp_path, "a..b") == tmp_path / "a..b"


@pytest.mark.parametrize("text, field, value", [('{"a": NaN}', "a", "NaN"), ('[1, {"b": [0, Infinity]}]', "[1].b[1]", "Infinity"),
                                                ('{"m": [{"k": {"x": -Infinity}}]}', "m[0].k.x", "-Infinity"),
                                                ("NaN", "the document", "NaN")])
def test_nan_and_infinity_are_refused_naming_where(text, field, value):
    with pytest.raises(files.NonFiniteNumberError) as info:
        files.loads_finite(text)
    assert (info.value.field, info.value.value) == (field, value) and isinstance(info.value, ValueError)


def test_finite_json_reads_as_json():
    text = '{"a": [1, 2.5, -3e-2, "NaN", null, true], "b": {"Infinity": 1e308}}'
    assert files.loads_finite(text) == json.loads(text)
