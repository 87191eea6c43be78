import pytest

from genre_models.genres import (GENRES, UnknownGenreError, canonical_genre, parse_custom_genres,
                                 resolve_genres)


def test_eighteen_canonical_genres():
    assert len(GENRES) == 18 and GENRES[0] == "Action" and GENRES[-1] == "Western"


@pytest.mark.parametrize("name,expected", [("Science Fiction", "Sci-Fi"), ("musical", "Music"),
                                           (" sci-fi ", "Sci-Fi"), ("HORROR", "Horror"),
                                           ("TV Movie", None), ("Biography", None)])
def test_aliases_and_dropped_genres(name, expected):
    assert canonical_genre(name) == expected


def test_unknown_genre_lists_valid_ones():
    with pytest.raises(UnknownGenreError) as info:
        resolve_genres(["Horror", "Spaghetti", "Noirish"])
    message = str(info.value)
    assert "'Spaghetti'" in message and "'Noirish'" in message
    assert all(g in message for g in GENRES)


def test_resolve_keeps_order_and_dedupes():
    assert resolve_genres(["science fiction", "Horror", "Sci-Fi"]) == ("Sci-Fi", "Horror")
    assert resolve_genres(None) == GENRES


def test_custom_genres_free_text():
    assert parse_custom_genres("heist, mockumentary,, Space Opera\nscience fiction, Heist") == (
        "heist", "mockumentary", "Space Opera", "Sci-Fi")
    assert parse_custom_genres("  ") == ()


def test_custom_genres_are_bounded_and_plain_words():
    import pytest

    from genre_models.errors import InvalidInputError
    from genre_models.genres import MAX_CUSTOM_GENRES, MAX_GENRE_CHARS, parse_custom_genres
    assert parse_custom_genres("heist, Space Opera, rock & roll, sci-fi, film-noir/crime") == (
        "heist", "Space Opera", "rock & roll", "Sci-Fi", "film-noir/crime")
    names = ", ".join(f"genre {i}" for i in range(MAX_CUSTOM_GENRES))
    assert len(parse_custom_genres(names + ", genre 0")) == MAX_CUSTOM_GENRES  # duplicates do not count
    with pytest.raises(InvalidInputError, match=f"at most {MAX_CUSTOM_GENRES} custom genres"):
        parse_custom_genres(names + ", one more")
    with pytest.raises(InvalidInputError, match=f"the limit is {MAX_GENRE_CHARS}"):
        parse_custom_genres("x" * (MAX_GENRE_CHARS + 1))
    assert parse_custom_genres("film noir, 功夫, Bollywood") == ("film noir", "功夫", "Bollywood")
    for markup in ("<b>bold</b>", "[link](http://x)", "<img src=x>", "*stars*", "_italic_", "`code`"):
        with pytest.raises(InvalidInputError, match="use letters, digits, spaces"):
            parse_custom_genres(f"heist, {markup}")
    with pytest.raises(InvalidInputError, match="too long"):
        parse_custom_genres(",".join(f"g{i}" for i in range(20_000)))  # refused before any parsing


@pytest.mark.parametrize("typed, expected", [
    ("हॉरर, कॉमेडी", ("हॉरर", "कॉमेडी")),  # Devanagari: vowel signs are combining marks
    ("come\u0301die", ("com\u00e9die",)),  # a decomposed accent, composed (NFC)
    ("علمی\u200cتخیلی", ("علمی\u200cتخیلی",)),  # Persian keeps its zero-width non-joiner
    ("ক্রাইম থ্রিলার", ("ক্রাইম থ্রিলার",)),  # Bengali with virama
    ("\ufeffhorror", ("Horror",)),  # a byte-order mark in front is no part of the name
])
def test_custom_genres_in_any_script(typed, expected):
    assert parse_custom_genres(typed) == expected


@pytest.mark.parametrize("typed", ["\u200b", "\ufeff, \u2060", "heist, \u200b\u200b, \u00ad"])
def test_a_custom_genre_of_invisible_characters_is_no_genre(typed):
    assert parse_custom_genres(typed) == (() if "heist" not in typed else ("heist",))


@pytest.mark.parametrize("typed", ["\u0301abc", "a_b", "<i>x</i>", "x\u200by*"])
def test_marks_do_not_open_the_door_to_markup(typed):
    with pytest.raises(Exception, match="use letters"):
        parse_custom_genres(typed)


def test_canonical_names_ignore_invisible_characters():
    assert canonical_genre("\u200bSci\u2060-Fi\ufeff") == "Sci-Fi"
