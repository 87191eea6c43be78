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
