"""Issue 33, items 13, 14 and the zip part of 18: a posters zip that cannot be unpacked as it is.

- 13: members the system cannot write: a file and a folder of one name (the issue's, both orders, and a
  folder entry), a 300-character folder name (the issue's), a 300-character file name, a path 4,200
  characters deep. Each run through ``python -m genre_models.evaluate --all-films --posters`` (the
  function the page's Your films tab calls) in one fresh process: exit code 2 and one ``error:`` line naming
  the member, no traceback, no server path.
- 14: names in another form than the CSV's: a zip made on macOS (NFD names) with the CSV's names typed in
  NFC (the issue's) and the other way round, UTF-8 names without the UTF-8 flag, names in an Info-ZIP Unicode
  Path field: all found. A zip whose names are in a legacy code page (cp1252, no flag: the issue's): the row
  is named with a message saying the zip's names are not UTF-8. Replayed through what Your films does with
  a zip (``extract_zip``, ``describe_zip``, ``validate_records``) in a fresh process.
- 18: a full disk while unpacking (a 1 MiB tmpfs as the temporary folder, in a mount namespace of its own:
  ``unshare``), and a disk out of inodes (a tmpfs of 16 files, a zip of 40 posters): the CLI says "the
  server's disk is full" in one line, and nothing of the zip is left on that disk.
"""
from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support.zips import raw_names_zip, unicode_path_field, write_zip

from .common import ROOT, Kind, Outcome, measure

TIMEOUT_S = 240
POSTER = (ROOT / "assets" / "posters" / "the_kid_1921.jpg").read_bytes()
NFD, NFC = "Ame\u0301lie.jpg", "Am\u00e9lie.jpg"


def _films(path: Path, posters: list[str]) -> Path:
    rows = [f"f{i},Film {i},2000,Drama,A man meets a woman in a small town.,{name}" for i, name in enumerate(posters)]
    path.write_text("\n".join(["id,title,year,genres,plot,poster", *rows]) + "\n", encoding="utf-8")
    return path


def _cli_code(runs: list[tuple[Path, Path]], out: Path) -> str:
    """A child's code: the Your-films CLI on each (CSV, zip) with a plot model and a poster model (the zip is
    unpacked only for a poster model), printed as a JSON list of {rc, stderr}."""
    return textwrap.dedent(f"""
        import contextlib, io, json
        from genre_models import evaluate
        answers = []
        for n, (films, posters) in enumerate({[(str(c), str(z)) for c, z in runs]!r}):
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                try:
                    rc = evaluate.main(["--all-films", "--data", films, "--posters", posters,
                                        "--models", "tfidf", "clip-vit-b-16", "--out", {str(out)!r} + str(n)])
                except BaseException as exc:  # what the issue saw: a traceback
                    rc, err = "raised", io.StringIO(type(exc).__name__ + ": " + str(exc))
            answers.append({{"rc": rc, "stderr": err.getvalue()}})
        print(json.dumps(answers))
    """)


def _each(measured, count: int) -> list[dict]:
    """The child's JSON list of answers; its error (a dict) once per run when it failed."""
    result = measured.result()
    return result if isinstance(result, list) else [result or {"stdout": measured.stdout[-300:]}] * count


def _one_error_line(answer: dict, workdir: Path) -> str | None:
    """The CLI's one ``error:`` line, or None when it said more, raised, or named a server path."""
    lines = answer.get("stderr", "").strip().splitlines()
    if answer.get("rc") != 2 or len(lines) != 1 or not lines[0].startswith("error: ") or str(workdir) in lines[0]:
        return None
    return lines[0][len("error: "):]


# -- 13: a member that cannot be written refuses the zip in one line naming it ------------------------------

def run_unwritable_members(workdir: Path) -> Outcome:
    films = _films(workdir / "films.csv", ["p0.jpg"])
    members = {
        "a file and a folder 'p0.jpg'": [("p0.jpg", POSTER), ("p0.jpg/p1.jpg", POSTER)],
        "the same, folder first": [("p0.jpg/p1.jpg", POSTER), ("p0.jpg", POSTER)],
        "a folder entry and a file": [("p0.jpg/", b""), ("p0.jpg", POSTER)],
        "a 300-character folder name": [("p0.jpg", POSTER), ("f" * 300 + "/p1.jpg", POSTER)],
        "a 300-character file name": [("p0.jpg", POSTER), ("n" * 300 + ".jpg", POSTER)],
        "a path 4,200 characters deep": [("p0.jpg", POSTER), ("d/" * 2100 + "p1.jpg", POSTER)],
    }
    zips = [write_zip(workdir / f"m{i}.zip", entries) for i, entries in enumerate(members.values())]
    answers = _each(measure(_cli_code([(films, z) for z in zips], workdir / "out"), timeout=TIMEOUT_S), len(zips))
    problems, said = [], []
    for (name, entries), answer in zip(members.items(), answers):
        line = _one_error_line(answer, workdir)
        named = entries[-1][0][:20] if "deep" not in name else "d/d/d/"
        if line is None or not line.startswith("zip refused: ") or named not in line:
            problems.append(f"{name}: {answer}")
        else:
            said.append(line)
    observed = problems[0] if problems else f"{said[0]}; {said[3]}; and 4 more refused naming the member"
    return Outcome(not problems, observed[:600])


# -- 14: names compared in NFC; a zip whose names are not UTF-8 says so ------------------------------------

LOOKUP = textwrap.dedent("""
    import json
    from genre_models.data.film_rows import read_records, validate_records
    from genre_models.data.safe_zip import describe_zip, extract_zip
    answers = []
    for n, (films, posters) in enumerate(RUNS):
        root = extract_zip(posters, OUT + str(n))
        found, problems = validate_records(read_records(films), root, needs_plot=True, needs_poster=True,
                                           where=describe_zip(posters))
        answers.append({"found": [film.id for film in found], "problems": problems})
    print(json.dumps(answers))
""")


def _unicode_path_field(raw: bytes) -> bytes:
    """Info-ZIP's Unicode Path extra field saying the member whose header name is ``raw`` (not ASCII) is
    named ``NFC``: version 1, the CRC-32 of ``raw``, the UTF-8 name. None for an ASCII name."""
    return b"" if raw.isascii() else unicode_path_field(raw, NFC)


def run_name_forms(workdir: Path) -> Outcome:
    nfc_csv, nfd_csv = _films(workdir / "nfc.csv", [NFC, "p1.jpg"]), _films(workdir / "nfd.csv", [NFD, "p1.jpg"])
    runs = {
        "a macOS zip (NFD), the CSV in NFC": (nfc_csv, write_zip(workdir / "mac.zip", [(NFD, POSTER), ("p1.jpg", POSTER)])),
        "an NFC zip, the CSV in NFD": (nfd_csv, write_zip(workdir / "nfc.zip", [(NFC, POSTER), ("p1.jpg", POSTER)])),
        "UTF-8 names without the flag": (nfc_csv, raw_names_zip(workdir / "noflag.zip",
                                                                 [NFC.encode("utf-8"), b"p1.jpg"], data=POSTER)),
        "a Unicode Path field": (nfc_csv, raw_names_zip(workdir / "field.zip", [NFC.encode("cp1252"), b"p1.jpg"],
                                                         extra=_unicode_path_field, data=POSTER)),
        "names in cp1252, no flag": (nfc_csv, raw_names_zip(workdir / "legacy.zip",
                                                             [NFC.encode("cp1252"), b"p1.jpg"], data=POSTER)),
    }
    code = (LOOKUP.replace("RUNS", repr([(str(c), str(z)) for c, z in runs.values()]))
            .replace("OUT", repr(str(workdir / "unpacked"))))
    answers = _each(measure(code, timeout=TIMEOUT_S), len(runs))
    problems, legacy = [], ""
    for (name, _), answer in zip(runs.items(), answers):
        if "cp1252" in name:
            legacy = (answer.get("problems") or [""])[0]
            if answer.get("found") != ["f1"] or "not UTF-8" not in legacy:
                problems.append(f"{name}: {answer}")
        elif answer.get("found") != ["f0", "f1"]:
            problems.append(f"{name}: {answer}")
    observed = problems[0] if problems else (f"found: {', '.join(n for n in runs if 'cp1252' not in n)}; "
                                             f"legacy names: {legacy}")
    return Outcome(not problems, observed[:600])


# -- 18 (zip): a full disk is said to be the server's, and nothing half-written is left --------------------

PAGE_CALL = textwrap.dedent("""
    import json, os
    from genre_models import ModelPool
    from genre_models.comparison.your_films import evaluate_films
    from genre_models.errors import GenreLensError
    os.makedirs(SESSION)  # the page's session folder (app.py: sessions.fresh), kept after the request
    try:
        evaluate_films(ModelPool(), ["tfidf", "clip-vit-b-16"], FILMS, POSTERS, workdir=SESSION)
        said = "scored"
    except GenreLensError as exc:
        said = str(exc)
    print(json.dumps(said))
""")


def run_full_disk(workdir: Path) -> Outcome:
    if shutil.which("unshare") is None:
        return Outcome(False, "not replayed: no unshare here to make a small disk")
    members = {
        "a 1 MiB disk, two 600 kB posters": ("size=1m", [(f"p{i}.jpg", POSTER * 12) for i in range(2)]),
        "a disk of 16 files, 40 posters": ("size=8m,nr_inodes=16", [(f"p{i}.jpg", POSTER) for i in range(40)]),
    }
    problems, said = [], []
    for n, (name, (options, entries)) in enumerate(members.items()):
        films = _films(workdir / f"films{n}.csv", [entry[0] for entry in entries])
        archive = write_zip(workdir / f"full{n}.zip", entries)
        disk = workdir / f"disk{n}"
        disk.mkdir()
        # on the small disk: the CLI's temporary folder (TMPDIR), then the page's session folder, which outlives
        # the request: `ls -A` of it afterwards is what a failed unpack left
        cli = _cli_code([(films, archive)], workdir / f"out{n}")
        page = (PAGE_CALL.replace("SESSION", repr(str(disk / "session"))).replace("FILMS", repr(str(films)))
                .replace("POSTERS", repr(str(archive))))
        where, python = shlex.quote(str(disk)), shlex.quote(sys.executable)
        script = (f"mount -t tmpfs -o {options} tmpfs {where} && {{ export TMPDIR={where} HF_HUB_OFFLINE=1 "
                  f"PYTHONPATH={shlex.quote(str(ROOT))}; {python} -c {shlex.quote(cli)}; "
                  f"{python} -c {shlex.quote(page)}; echo LEFT: $(ls -A {where}/session); }}")
        done = subprocess.run(["unshare", "-r", "-m", "sh", "-c", script], capture_output=True, text=True,
                              timeout=TIMEOUT_S, cwd=ROOT)
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or len(lines) < 3 or not lines[-1].startswith("LEFT:"):
            problems.append(f"{name}: not replayed ({(done.stderr.strip().splitlines() or ['?'])[-1][:200]})")
            continue
        answer, page_said, left = json.loads(lines[-3])[0], json.loads(lines[-2]), lines[-1][len("LEFT:"):].strip()
        line = _one_error_line(answer, workdir)
        if line is None or not line.startswith("the server's disk is full") or page_said != line or left:
            problems.append(f"{name}: CLI {answer}, page {page_said!r}, "
                            f"left in the session folder: {left or 'nothing'}")
        else:
            said.append(name)
    observed = problems[0] if problems else (f"{', '.join(said)}: \"the server's disk is full: ...\" in one line "
                                             "(CLI and the page's call), nothing left in the session folder")
    return Outcome(not problems, observed[:600])


KINDS = [
    Kind(item=13, name="Zip: a member that cannot be written",
         expected="the zip refused in one line naming the member (no traceback, no server path), nothing unpacked",
         run=run_unwritable_members),
    Kind(item=14, name="Zip: names in another Unicode form or code page",
         expected="names compared in NFC on both sides (UTF-8 read wherever the zip holds it); a zip whose names "
                  "are not UTF-8 says so in the row's message",
         run=run_name_forms),
    Kind(item=18, name="Zip: unpacked onto a full disk",
         expected="\"the server's disk is full\" in one line, nothing half-written left",
         run=run_full_disk),
]
