"""A visitor's posters zip (genre_models/data/safe_zip.py): members that cannot be written, names in other
Unicode forms or code pages, and a full disk (issue 33, items 13, 14 and 18). Zip slip, links, nested
archives and size limits: tests/test_your_films.py."""
from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import pytest

from genre_models.data import safe_zip
from genre_models.data.film_rows import read_records, validate_records
from genre_models.data.safe_zip import DISK_FULL, describe_zip, extract_zip
from genre_models.errors import DataError, GenreLensError
from tests.support.full_disk import contents, small_disk
from tests.support.zips import raw_names_zip, unicode_path_field, write_zip

NFD, NFC = "Ame\u0301lie.jpg", "Am\u00e9lie.jpg"


def _refusal(archive: Path, folder: Path, error=DataError) -> str:
    with pytest.raises(error) as refused:
        extract_zip(archive, folder)
    assert not folder.exists() and not list(folder.parent.glob(f".{folder.name}*"))  # nothing half-written
    message = str(refused.value)
    assert str(folder.parent) not in message and "\n" not in message  # one line, no server path
    return message


# -- members that cannot be written (item 13) -------------------------------------------------------

@pytest.mark.parametrize("members", [[("a", b"1"), ("a/b.jpg", b"2")], [("a/b.jpg", b"2"), ("a", b"1")]])
def test_a_file_and_a_folder_of_one_name_refuse_the_zip_naming_them(tmp_path, members):
    archive = write_zip(tmp_path / "p.zip", members)
    assert _refusal(archive, tmp_path / "out" / "posters") == (
        "zip refused: 'a' is both a file and a folder (of 'a/b.jpg')")
    archive = write_zip(tmp_path / "d.zip", [("a/", b""), ("a", b"1")])  # an explicit folder entry
    assert _refusal(archive, tmp_path / "out" / "posters") == "zip refused: 'a' is both a file and a folder (of 'a/')"


@pytest.mark.parametrize("name", ["x" * 300 + "/p.jpg", "y" * 300 + ".jpg", "d/" * 2100 + "p.jpg"])
def test_a_name_the_system_cannot_write_refuses_the_zip_naming_the_member(tmp_path, name):
    archive = write_zip(tmp_path / "p.zip", [("ok.jpg", b"1"), (name, b"2")])
    message = _refusal(archive, tmp_path / "out" / "posters")
    assert message == f"zip refused: {name[:60]!r}"[:-1] + "…' cannot be unpacked (File name too long)"


def test_a_member_named_twice_or_with_a_nul_is_refused(tmp_path):
    with pytest.warns(UserWarning, match="Duplicate name"):  # zipfile writes it all the same
        archive = write_zip(tmp_path / "p.zip", [("p.jpg", b"1"), ("p.jpg", b"2")])
    assert _refusal(archive, tmp_path / "posters") == "zip refused: 'p.jpg' is in it twice"
    archive = raw_names_zip(tmp_path / "n.zip", [b"p.jpg\x00.sh"])
    assert _refusal(archive, tmp_path / "posters") == r"zip refused: 'p.jpg\x00.sh' has a NUL character in its name"


def test_a_member_that_cannot_be_read_is_named_and_nothing_is_left(tmp_path):
    data = bytearray(write_zip(tmp_path / "p.zip", [("ok.jpg", b"fine"), ("p.jpg", b"poster bytes")]).read_bytes())
    data[data.index(b"poster bytes")] ^= 0xFF  # its CRC no longer matches
    (tmp_path / "p.zip").write_bytes(bytes(data))
    assert _refusal(tmp_path / "p.zip", tmp_path / "posters") == (
        "zip refused: 'p.jpg' cannot be read (Bad CRC-32 for file 'p.jpg')")


def test_a_zip_that_cannot_be_opened_is_named_without_its_path(tmp_path):
    assert _refusal(tmp_path / "gone.zip", tmp_path / "posters") == (
        "the posters file is not a readable zip (No such file or directory)")


def test_a_refused_zip_leaves_the_folder_it_would_replace_as_it_was(tmp_path):
    folder = extract_zip(write_zip(tmp_path / "good.zip", [("p.jpg", b"1")]), tmp_path / "posters")
    with pytest.raises(DataError):
        extract_zip(write_zip(tmp_path / "bad.zip", [("a", b"1"), ("a/b.jpg", b"2"), ("q.jpg", b"3")]), folder)
    assert sorted(p.name for p in folder.iterdir()) == ["p.jpg"]


# -- names: Unicode forms and legacy code pages (item 14) --------------------------------------------

def _csv(path: Path, posters: list[str]) -> Path:
    rows = [f"f{i},Film,2000,Drama,a plot,{name}" for i, name in enumerate(posters)]
    path.write_text("\n".join(["id,title,year,genres,plot,poster", *rows]) + "\n", encoding="utf-8")
    return path


def _lookup(csv: Path, archive: Path, folder: Path) -> tuple[list[str], list[str]]:
    root = extract_zip(archive, folder)
    films, problems = validate_records(read_records(csv), root, needs_plot=True, needs_poster=True,
                                       where=describe_zip(archive))
    return [film.id for film in films], problems


def test_a_zip_made_on_macos_matches_names_typed_in_nfc_and_the_other_way(tmp_path):
    archive = write_zip(tmp_path / "mac.zip", [(NFD, b"1"), ("plain.jpg", b"2")])
    found, problems = _lookup(_csv(tmp_path / "films.csv", [NFC, NFD, "plain.jpg"]), archive, tmp_path / "posters")
    assert (found, problems) == (["f0", "f1", "f2"], [])
    archive = write_zip(tmp_path / "nfc.zip", [(NFC, b"1")])
    assert _lookup(_csv(tmp_path / "films.csv", [NFD]), archive, tmp_path / "posters") == (["f0"], [])


def test_a_folder_of_nfd_names_matches_names_typed_in_nfc(tmp_path):
    (tmp_path / NFD).write_bytes(b"1")  # posters copied from a Mac next to the CSV (the CLI without --posters)
    films, problems = validate_records(read_records(_csv(tmp_path / "films.csv", [NFC])), tmp_path,
                                       needs_plot=True, needs_poster=True, where="the CSV's folder")
    assert ([f.id for f in films], problems) == (["f0"], [])


def test_one_name_in_two_unicode_forms_is_refused(tmp_path):
    archive = write_zip(tmp_path / "p.zip", [(NFC, b"1"), (NFD, b"2")])
    assert _refusal(archive, tmp_path / "posters") == (
        f"zip refused: {NFD!r} is in it twice (written two ways Unicode counts as one)")


def test_names_in_utf8_without_the_flag_or_in_a_unicode_path_field_are_read_as_written(tmp_path):
    csv = _csv(tmp_path / "films.csv", [NFC])
    archive = raw_names_zip(tmp_path / "noflag.zip", [NFC.encode("utf-8")])  # most tools: UTF-8, no flag
    assert _lookup(csv, archive, tmp_path / "a") == (["f0"], [])

    archive = raw_names_zip(tmp_path / "field.zip", [NFC.encode("cp1252")],
                            extra=lambda raw: unicode_path_field(raw, NFC))
    assert _lookup(csv, archive, tmp_path / "b") == (["f0"], [])


def test_a_zip_whose_names_are_in_a_legacy_code_page_says_so(tmp_path):
    archive = raw_names_zip(tmp_path / "legacy.zip", [NFC.encode("cp1252"), b"plain.jpg"])  # Windows, no flag
    found, problems = _lookup(_csv(tmp_path / "films.csv", [NFC, "plain.jpg"]), archive, tmp_path / "posters")
    assert found == ["f1"]
    assert problems == ["line 2: poster 'Amélie.jpg' is not in the zip (its file names are not UTF-8 but an older "
                        "code page, read as 'AmΘlie.jpg': zip the posters again with UTF-8 names); row skipped"]
    assert describe_zip(write_zip(tmp_path / "utf8.zip", [(NFC, b"1")])) == "the zip"


# -- a full disk (item 18) -----------------------------------------------------------------------------

def test_a_full_disk_is_said_to_be_the_servers_and_nothing_is_left(tmp_path):
    archive = write_zip(tmp_path / "p.zip", [("p0.jpg", os.urandom(600_000)), ("p1.jpg", os.urandom(600_000))])
    with small_disk(tmp_path / "disk", size_kb=1024) as disk:  # a real ENOSPC (skipped where it cannot mount)
        (disk / "session").mkdir()  # the page's session folder, which outlives the request
        assert _refusal(archive, disk / "session" / "posters", GenreLensError) == DISK_FULL
        assert contents(disk) == ["session"]  # the partial unpack was removed
        assert extract_zip(write_zip(tmp_path / "q.zip", [("p0.jpg", b"1")]), disk / "again").is_dir()


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_a_write_refused_for_space_or_quota_is_a_full_disk(tmp_path, monkeypatch, code):
    class FullFile(io.FileIO):  # the lowest layer safe_zip writes through: the file it opens
        def write(self, data):
            raise OSError(code, os.strerror(code))
    monkeypatch.setattr(safe_zip, "open", lambda path, mode: FullFile(path, mode.replace("b", "")), raising=False)
    archive = write_zip(tmp_path / "p.zip", [("p0.jpg", b"poster")])
    assert _refusal(archive, tmp_path / "posters", GenreLensError) == DISK_FULL
