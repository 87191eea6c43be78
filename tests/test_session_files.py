"""A browser session's files: its folder, the uploads it holds, and the sweep of folders a killed app left."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from genre_models.session_files import PREFIX, SessionFolders, hide_paths, sweep

ROOT = Path(__file__).resolve().parent.parent


def _upload(base: Path, name: str = "films.csv", digest: str = "0a") -> Path:
    """A file where gradio puts an upload: ``<upload folder>/<sha256 of the content>/<name>``."""
    path = base / (digest * 32) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("id,genres\n")
    return path


def _app_holding_a_root(base: Path) -> subprocess.Popen:
    """Another process with its own SessionFolders in ``base`` and a session in it; it prints its root."""
    code = ("import sys, time; from genre_models.session_files import SessionFolders; "
            f"s = SessionFolders({str(base)!r}); (s.fresh('x') / 'predictions.csv').write_text('p'); "
            "print(s.root, flush=True); sys.stdin.read()")
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)


def test_a_session_folder_is_fresh_for_each_evaluation_and_goes_with_its_session(tmp_path):
    folders = SessionFolders(tmp_path)
    assert folders.root.parent == tmp_path and folders.root.name.startswith(PREFIX)
    first = folders.fresh("s1")
    (first / "posters").mkdir()
    second = folders.fresh("s1")  # a new evaluation replaces the session's previous files
    assert not first.exists() and second.is_dir() and second.parent == folders.root
    other = folders.fresh("s2")
    folders.remove("s1")
    assert not second.exists() and other.is_dir()
    folders.remove_all()
    assert not other.exists() and not folders.root.exists() and tmp_path.is_dir()


def test_an_upload_two_sessions_hold_goes_with_the_last_of_them(tmp_path):
    folders = SessionFolders(tmp_path)
    shared, own = _upload(tmp_path), _upload(tmp_path, "posters.zip", "9f")
    folders.claim("a", str(shared), None)
    folders.claim("b", str(shared), str(own))
    folders.claim("b", str(shared))  # claimed again (on upload, then on Evaluate): still one holder
    folders.remove("a")
    assert shared.is_file() and own.is_file()  # b still holds both
    folders.remove("b")
    assert not shared.exists() and not own.exists()
    assert not shared.parent.exists()  # gradio's folder for those bytes, once empty


def test_only_gradio_uploads_are_claimed_never_a_sessions_own_files_nor_others(tmp_path):
    folders = SessionFolders(tmp_path / "uploads")
    returned = folders.fresh("other") / "predictions.csv"
    returned.write_text("film_id\n")
    elsewhere = tmp_path / "notes" / "deep" / "keep.txt"
    elsewhere.parent.mkdir(parents=True)
    elsewhere.write_text("mine")
    beside = _upload(tmp_path / "uploads", digest="zz")  # not a sha256: a folder gradio would not make
    folders.claim("a", str(returned), str(elsewhere), str(folders.root / "x"), str(beside))
    folders.remove("a")
    assert returned.is_file() and elsewhere.is_file() and beside.is_file()


def test_an_api_call_gets_a_folder_under_the_root_removed_when_it_returns(tmp_path):
    folders = SessionFolders(tmp_path)
    with folders.for_request() as folder:
        assert folder.parent == folders.root
        (folder / "posters").mkdir()
    assert not folder.exists() and folders.root.is_dir()


def test_the_sweep_removes_a_killed_apps_folders_and_never_a_live_ones(tmp_path):
    killed, live = _app_holding_a_root(tmp_path), _app_holding_a_root(tmp_path)
    try:
        killed_root, live_root = Path(killed.stdout.readline().strip()), Path(live.stdout.readline().strip())
        own = SessionFolders(tmp_path)
        assert sweep(tmp_path) == []  # three live apps: nothing is swept
        killed.kill()  # SIGKILL: no cleanup runs, its folders stay...
        killed.wait(timeout=30)
        assert any(killed_root.glob("session-*/predictions.csv"))
        assert sweep(tmp_path) == [killed_root]  # ...until an app's start sweeps them
        assert not killed_root.exists()
        assert any(live_root.glob("session-*/predictions.csv")) and own.root.is_dir()
    finally:
        for process in (killed, live):
            process.kill()
            process.wait(timeout=30)


def test_the_sweep_leaves_what_is_not_a_root_of_ours(tmp_path):
    gradios = _upload(tmp_path).parent  # gradio's own upload folders
    (tmp_path / (PREFIX + "link")).symlink_to(gradios)
    (tmp_path / "genrelens-films-old").mkdir()
    assert sweep(tmp_path) == []
    assert gradios.is_dir() and (tmp_path / "genrelens-films-old").is_dir()


def test_an_app_that_exits_removes_its_root(tmp_path):
    done = subprocess.run([sys.executable, "-c", "from genre_models.session_files import SessionFolders; "
                           f"s = SessionFolders({str(tmp_path)!r}); s.fresh('x'); print(s.root)"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not Path(done.stdout.strip()).exists() and os.listdir(tmp_path) == []


def test_messages_name_a_file_never_the_folder_it_is_in(tmp_path):
    folders = SessionFolders(tmp_path / "gradio")
    poster = folders.fresh("s") / "posters" / "posters" / "f1.png"
    upload = tmp_path / "gradio" / ("0a" * 32) / "films.csv"
    message = f"films CSV not found: {upload}; '{poster}' cannot be read ([Errno 28] No space left: '{poster}')"
    shown = hide_paths(message, folders.base)
    assert shown == "films CSV not found: films.csv; 'f1.png' cannot be read ([Errno 28] No space left: 'f1.png')"
    assert hide_paths("line 3: poster 'a/b.png' is not in the zip", folders.base) == \
        "line 3: poster 'a/b.png' is not in the zip"  # a name inside the zip is the visitor's own
