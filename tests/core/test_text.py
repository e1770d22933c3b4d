"""Questions cleaned on the way in; any text made inert before a terminal shows it."""

from __future__ import annotations

import pytest

from core.errors import InvalidQuestionError
from core.text import clean_question, safe_terminal

HOSTILE = "red \x1b[31mtext\x1b[0m, \x1b]8;;http://x\x07a link\x1b]8;;\x07, over\rwritten"


def test_clean_question_removes_escapes_and_controls_and_says_so():
    cleaned = clean_question(f"  {HOSTILE}\x00\x08\x7f\x9b2J\u202eevil\r\n? ")
    assert cleaned.text == "red text, a link, overwrittenevil\n?"
    (note,) = cleaned.notes
    assert note.startswith("terminal escape sequences and control characters removed (")


def test_clean_question_replaces_undecodable_bytes():
    # What Python makes of argv bytes b"revenue \xff\xfe 2023" (PEP 383 surrogateescape)
    typed = b"revenue \xff\xfe 2023".decode("utf-8", "surrogateescape")
    cleaned = clean_question(typed)
    assert cleaned.text == "revenue \ufffd\ufffd 2023"
    assert cleaned.notes == ["2 undecodable bytes (not UTF-8) replaced by U+FFFD"]
    cleaned.text.encode("utf-8")  # storable and printable now


def test_clean_question_keeps_ordinary_text_untouched():
    text = "Umsatz 2023 — € 5,0 Mrd.?\n\tUnd 2022?"
    assert clean_question(text).text == text and clean_question(text).notes == []


@pytest.mark.parametrize("typed", ["", "   ", "\x1b[31m\x1b[0m", "\x07\r\n\x00"])
def test_a_question_of_nothing_but_controls_is_one_clear_error(typed):
    with pytest.raises(InvalidQuestionError, match="empty once control characters are removed"):
        clean_question(typed)


def test_safe_terminal_strips_sequences_whole_and_keeps_newlines_and_tabs():
    assert safe_terminal(HOSTILE) == "red text, a link, overwritten"
    assert safe_terminal("a\tb\nc\r\nd") == "a\tb\nc\nd"
    assert safe_terminal("\x1bPdevice\x1b\\ok \x1b_apc\x9c\x1b7\x1bc\x1b(B.") == "ok ."
    assert safe_terminal("bell\x07 back\x08space \u2066iso\u2069") == "bell backspace iso"
    assert safe_terminal("bad \udcff byte") == "bad \ufffd byte"
    assert safe_terminal(42) == "42"
    # an unterminated OSC loses its introducer; the rest is plain text
    assert safe_terminal("\x1b]8;;http://x never ends") == "8;;http://x never ends"
