"""Text that came from data (file names, above all) made safe to print on a terminal.

A file name may hold control characters (an escape sequence can recolour, move the cursor
or retitle the terminal), bidirectional overrides and invisible characters (which make
one name look like another), or bytes that are not UTF-8 (kept by Python as lone
surrogates, which cannot even be written to a UTF-8 stdout). Each is shown as an escape:
``\\x1b``, ``\\u202e``; a byte that is not UTF-8 as ``\\xff``; newline, tab and carriage
return as ``\\n``, ``\\t``, ``\\r``. Other text is unchanged (no cost beyond one regex scan).
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f"  # C0 and C1 controls, DEL
    "\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff"  # invisible, line breaks, bidi
    "\ud800-\udfff]"  # lone surrogates (non-UTF-8 bytes under surrogateescape)
)
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every character that could fool or disturb a terminal escaped."""
    return _UNSAFE.sub(_escape, text)
