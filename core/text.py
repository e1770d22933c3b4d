"""Untrusted text made safe: questions cleaned on the way in, any text made inert for a terminal.

Contract: :func:`clean_question` takes what a user typed (a CLI argument, a chat box) and returns
a :class:`CleanQuestion` whose ``text`` holds no terminal escape sequences, no C0/C1 control
characters other than newline and tab, and no undecodable bytes (each replaced by U+FFFD); its
``notes`` say what was changed, for the caller to show. A question left empty raises
:class:`~core.errors.InvalidQuestionError` (one line, no traceback). :func:`safe_terminal` makes
any text (an answer, a quote, a file name, a company) inert before it is printed: escape
sequences (CSI colours and cursor moves, OSC 8 links and titles, DCS/APC strings) and control
characters are removed, bidirectional overrides too; newlines and tabs stay.

Why both: the agent stores and echoes the question (progress lines, conversation history), so it
is cleaned once where it enters; document text comes from filings nobody typed, so every print is
made safe where it happens.

Undecodable bytes: Python hands a command-line argument that is not UTF-8 to the program with each
bad byte as a lone surrogate (U+DC80..U+DCFF, PEP 383); such a string cannot be printed, stored in
SQLite or serialised, hence the replacement.

Example:
    >>> clean_question("revenue\\x1b[31m in 2023\\r").text
    'revenue in 2023'
    >>> safe_terminal("ok\\x1b]8;;http://x\\x07link\\x1b]8;;\\x07")
    'oklink'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.errors import InvalidQuestionError

# ESC-introduced sequences (ECMA-48): CSI "ESC [" params intermediates final byte; OSC "ESC ]" /
# DCS "ESC P" / SOS "ESC X" / PM "ESC ^" / APC "ESC _" strings ended by BEL, ST ("ESC \\") or the
# C1 ST; other escapes "ESC" intermediates final. The 8-bit C1 forms (CSI U+009B, OSC U+009D, ...)
# likewise. An unterminated string loses its introducer only: the rest prints as plain text.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"  # strings
    r"|\x1b[ -/]*[0-~]"  # two-character escapes (ESC 7, ESC c, ESC ( B ...)
)
# C0 controls but tab and newline, DEL, C1 controls.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidirectional embeddings, overrides and isolates: they reorder what the terminal shows.
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")


@dataclass(frozen=True)
class CleanQuestion:
    """A question ready for the agent, and what cleaning it changed."""

    text: str
    notes: list[str] = field(default_factory=list)


def clean_question(text: str) -> CleanQuestion:
    """The question with escapes and controls removed and undecodable bytes replaced.

    Args:
        text: what the user typed (a command-line argument may carry undecodable bytes).

    Returns:
        the cleaned text (stripped of surrounding blanks; "\\r\\n" becomes "\\n") and notes,
        e.g. ``["2 undecodable bytes (not UTF-8) replaced by U+FFFD"]``, empty when unchanged.

    Raises:
        InvalidQuestionError: nothing but blanks and control characters was given.
    """
    notes: list[str] = []
    decoded, bad = _SURROGATES.subn("\ufffd", text)
    if bad:
        notes.append(f"{bad} undecodable byte{'s' * (bad != 1)} (not UTF-8) replaced by U+FFFD")
    unix = decoded.replace("\r\n", "\n")
    cleaned = _BIDI.sub("", _CONTROLS.sub("", _ESCAPES.sub("", unix)))
    removed = len(unix) - len(cleaned)
    if removed:
        notes.append(
            f"terminal escape sequences and control characters removed ({removed} characters)"
        )
    cleaned = cleaned.strip()
    if not cleaned:
        raise InvalidQuestionError(
            "the question is empty once control characters are removed; type it in words"
        )
    return CleanQuestion(cleaned, notes)


def safe_terminal(text: object) -> str:
    """``text`` (``str()`` of anything) with nothing a terminal would act on; newlines stay.

    Escape sequences go whole (so no ``[31m`` is left behind), then control characters
    (carriage return, backspace, bell, ...) and bidirectional overrides; undecodable bytes and
    other lone surrogates become U+FFFD, so the print cannot fail either.
    """
    value = str(text)
    value = _SURROGATES.sub("\ufffd", value.replace("\r\n", "\n"))
    return _BIDI.sub("", _CONTROLS.sub("", _ESCAPES.sub("", value)))
