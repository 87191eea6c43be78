"""What counts as text a person typed: Unicode normalised, invisible characters not counted.

A paste can carry characters that show nothing: a byte-order mark (U+FEFF) from a file saved by
Notepad, zero-width spaces (U+200B) from a web page, word joiners (U+2060). They are Unicode's
*default-ignorable* code points (``DerivedCoreProperties.txt``; nearly all of them of category Cf,
"format"). A plot or a genre name made only of them and whitespace is empty, and inside a word they
would split it for a tokenizer ("hor\\u200bror" -> "hor", "ror"), so they are dropped. Two are kept:
the zero-width joiner and non-joiner (U+200D, U+200C), which change how Indic, Persian and emoji
sequences are drawn, and the variation selectors, which pick how the character before them looks.
"""
from __future__ import annotations

import unicodedata

ZWNJ, ZWJ = "\u200c", "\u200d"
# default-ignorable code points that are not of category Cf (Unicode 15, DerivedCoreProperties.txt)
_IGNORABLE_RANGES = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x3164, 0x3164),
                     (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xE0100, 0xE01EF))
_SELECTORS = ((0x180B, 0x180F), (0xFE00, 0xFE0F), (0xE0100, 0xE01EF))  # shape the character before them


def _in(ranges, char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in ranges)


def invisible(char: str) -> bool:
    """Whether ``char`` draws nothing on its own: whitespace or a default-ignorable code point."""
    return char.isspace() or unicodedata.category(char) == "Cf" or _in(_IGNORABLE_RANGES, char)


def _dropped(char: str) -> bool:
    return (not char.isspace() and invisible(char) and char not in (ZWJ, ZWNJ)
            and not _in(_SELECTORS, char))


def visible_text(text: str) -> str | None:
    """``text`` in NFC with invisible format characters dropped and whitespace folded to single
    spaces; None when nothing visible is left (only whitespace and invisible characters)."""
    text = unicodedata.normalize("NFC", text)
    if all(invisible(char) for char in text):
        return None
    return " ".join("".join(char for char in text if not _dropped(char)).split())
