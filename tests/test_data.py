import pandas as pd

from genre_models.data.films import load_dataset, split_dataset, split_of
from films import write_films_csv


def test_bad_rows_are_reported_not_fatal(tmp_path):
    dataset = load_dataset(write_films_csv(tmp_path, n=20))
    report = dataset.report
    assert report.rows_read == 22 and report.rows_kept == 20
    assert report.unknown_genres == {"Spaghetti": 1}
    assert report.dropped_genres["TV Movie"] == 1 and report.dropped_genres["Biography"] == 1
    assert report.missing_posters == 1 and report.broken_posters == 1
    assert report.empty_plots == 1 and report.duplicate_ids == ["f4"] and report.no_genre == 1
    text = "\n".join(report.lines())
    assert "Spaghetti" in text and "duplicate ids" in text and "broken" in text
    row = dataset.frame.set_index("id")
    assert "Sci-Fi" in row.loc["f0", "genres"]  # alias mapped
    assert row.loc["f1", "poster"] is None and row.loc["f1", "plot"]  # kept for plot models
    assert row.loc["f3", "plot"] is None


def test_split_is_deterministic_by_id(tmp_path):
    dataset = load_dataset(write_films_csv(tmp_path, n=200, with_problems=False))
    first = {k: set(v.ids) for k, v in split_dataset(dataset, seed=3).items()}
    shuffled = dataset.subset(pd.Series(True, index=dataset.frame.index))
    shuffled.frame = shuffled.frame.sample(frac=1, random_state=1).reset_index(drop=True)
    again = {k: set(v.ids) for k, v in split_dataset(shuffled, seed=3).items()}
    assert first == again
    assert sum(len(v) for v in first.values()) == 200
    assert 100 < len(first["train"]) < 190
    other_seed = {k: set(v.ids) for k, v in split_dataset(dataset, seed=4).items()}
    assert other_seed != first  # the seed matters
    assert split_of("f1", seed=3) == split_of("f1", seed=3)


def test_unusable_files(tmp_path):
    import pytest
    bad = tmp_path / "bad.csv"
    bad.write_text("name,year\nx,1\n")
    with pytest.raises(ValueError, match="lacks column"):
        load_dataset(bad)
    with pytest.raises(ValueError, match="not found"):
        load_dataset(tmp_path / "nope.csv")


def test_several_csvs_load_as_one_pool_and_keep_each_films_split(tmp_path):
    from genre_models.data.films import load_datasets
    from films import write_second_source
    first = write_films_csv(tmp_path / "a", n=60, with_problems=False)
    second = write_second_source(tmp_path / "b", n=30, repeat_id="f3")
    pool = load_datasets([first, second])
    assert len(pool) == 90 and pool.report.duplicate_ids == ["f3"]  # the repeated id: first file wins
    assert pool.frame["source"].value_counts().to_dict() == {"films.csv": 60, "second.csv": 30}
    assert pool.frame.set_index("id").loc["f3", "source"] == "films.csv"
    described = pool.describe()
    assert [f["rows"] for f in described["files"]] == [60, 30] and " + " in described["file"]
    alone = {k: set(v.ids) for k, v in split_dataset(load_dataset(first)).items()}
    pooled = {k: set(v.ids) for k, v in split_dataset(pool).items()}
    for name in alone:  # adding a file moves none of the first file's films to another split
        assert alone[name] == {i for i in pooled[name] if i.startswith("f")}
    listing = tmp_path / "pool.txt"
    listing.write_text("# the two sources\na/films.csv\n\nb/second.csv\n")
    assert load_datasets([listing]).ids == pool.ids


def test_pool_errors(tmp_path):
    import pytest
    from genre_models.data.films import load_datasets
    first = write_films_csv(tmp_path, n=10, with_problems=False)
    with pytest.raises(ValueError, match="named twice"):
        load_datasets([first, first])
    with pytest.raises(ValueError, match="cannot read the list"):
        load_datasets([tmp_path / "missing.txt"])
    with pytest.raises(ValueError, match="no films CSV"):
        load_datasets([])


def test_one_stray_delimiter_shifts_nothing_and_wrong_rows_are_named_by_line(tmp_path):
    path = write_films_csv(tmp_path, n=400, with_problems=False)
    lines = path.read_text().splitlines()
    lines[1] += ","  # a stray delimiter at the end of the first film
    lines[5] += ",,"
    lines[10] = lines[10] + ",an extra field"  # a row with a field too many, not only empty ones
    lines[20] = ",".join(lines[20].split(",")[:3])  # a row cut short
    path.write_text("\n".join(lines) + "\n")
    dataset = load_dataset(path)
    report = dataset.report
    assert report.rows_read == 400 and report.rows_kept == 398
    assert report.trailing_delimiters == 2
    assert report.bad_rows == ["films.csv line 11: 7 fields, expected 6", "films.csv line 21: 3 fields, expected 6"]
    text = "\n".join(report.lines())
    assert "wrong number of fields (skipped): 2: films.csv line 11" in text and "stray delimiter" in text
    first = dataset.frame.set_index("id").loc["f0"]
    assert first["title"] == "Film 0" and first["poster"] is not None and first["genres"]


def test_a_byte_order_mark_is_not_part_of_a_column_or_a_path(tmp_path):
    from genre_models.data.films import load_datasets
    path = write_films_csv(tmp_path / "a", n=30, with_problems=False)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as Excel's "CSV UTF-8" saves it
    assert len(load_dataset(path)) == 30
    listing = tmp_path / "pool.txt"
    listing.write_bytes(b"\xef\xbb\xbfa/films.csv\n")
    assert len(load_datasets([listing])) == 30


def test_a_plot_of_invisible_characters_is_an_empty_plot(tmp_path):
    path = write_films_csv(tmp_path, n=10, with_problems=False)
    lines = path.read_text().splitlines()
    fields = lines[1].split(",")
    fields[4] = "\u200b\u2060 \ufeff"
    lines[1] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dataset = load_dataset(path)
    assert dataset.report.empty_plots == 1 and dataset.frame.set_index("id").loc["f0", "plot"] is None


# -- issue 33: the training loader reads a hostile CSV as the app does (items 5, 11, 12) ----------------

def _rewrite(path, change):
    import csv
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(change(rows))
    return path


def test_a_repeated_column_name_or_an_absurd_header_refuses_the_file_naming_it(tmp_path):
    import pytest
    from genre_models.errors import DataError
    path = write_films_csv(tmp_path, n=10, with_problems=False)
    _rewrite(path, lambda rows: [rows[0] + ["genres", "plot"]] + [r + ["Comedy", "a joke"] for r in rows[1:]])
    with pytest.raises(DataError, match=r"films\.csv line 1: column name\(s\) 'genres', 'plot' appear more than once"):
        load_dataset(path)
    _rewrite(path, lambda rows: [rows[0][:6] + [f"c{i}" for i in range(100_000)]] + [r[:6] for r in rows[1:]])
    with pytest.raises(DataError, match=r"films\.csv line 1: the header is over 10,000 characters; the limits are"):
        load_dataset(path)


def test_only_the_columns_read_are_kept_and_a_cell_a_spreadsheet_would_run_reads_back_plain(tmp_path):
    path = write_films_csv(tmp_path, n=10, with_problems=False)
    _rewrite(path, lambda rows: [rows[0] + [f"c{i}" for i in range(200)]]
             + [r + ["v"] * 200 for r in rows[1:2]] + [["'+1"] + r[1:] + ["v"] * 200 for r in rows[2:3]] + rows[3:])
    dataset = load_dataset(path)
    assert list(dataset.frame.columns) == ["id", "title", "year", "genres", "plot", "poster", "source"]
    assert dataset.ids[:2] == ["f0", "+1"] and dataset.report.bad_rows[0].startswith("films.csv line 4: 6 fields")


def test_a_nul_byte_or_an_unusable_poster_name_costs_its_row_not_the_file(tmp_path):
    path = write_films_csv(tmp_path, n=10, with_problems=False)
    _rewrite(path, lambda rows: rows[:2] + [rows[2][:5] + ["posters/f1\0.png"], rows[3][:1] + ["Nul\0"] + rows[3][2:],
                                            rows[4][:5] + ["x" * 300 + ".png"], rows[5][:5] + ["d/" * 3000]] + rows[6:])
    dataset = load_dataset(path)
    report = dataset.report
    assert report.bad_cells == ["films.csv line 3: a NUL byte in column(s) poster",
                                "films.csv line 4: a NUL byte in column(s) title"]
    assert "rows with a cell that is not text (skipped): 2: films.csv line 3" in "\n".join(report.lines())
    assert dataset.ids == ["f0", "f3", "f4"] + [f"f{i}" for i in range(5, 10)] and report.missing_posters == 2
    assert dataset.frame.set_index("id").loc["f3", "poster"] is None  # the plot is still read
    from genre_models.data.films import load_datasets
    from films import write_second_source
    assert load_datasets([path, write_second_source(tmp_path / "b", n=5)]).report.bad_cells == report.bad_cells
