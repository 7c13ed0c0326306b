"""Text from records made inert for whoever reads it next: a terminal, a spreadsheet, a chat window.

A note may hold `ESC ] 0 ; … BEL` (retitles the terminal), `ESC [ 2 J` (clears it) or a bidi
override that shows `exe.txt` for `txt.exe`. Every export, terminal view and notifier payload
passes its text through `inert`: C0 and C1 control characters (tab and newline aside), DEL and the
Unicode bidi controls are shown as `\\x1b` or `\\u202e`, never obeyed. The record keeps the text as
it was said; only what is shown changes.
"""

from __future__ import annotations

import re
from typing import Any

# C0 but tab and newline, DEL, C1; the bidi controls: ALM, LRM, RLM, embeddings and overrides
# (U+202A–U+202E), isolates (U+2066–U+2069).
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_SHOWN = re.compile(f"[{_CONTROLS}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: str) -> str:
    """`text` with every control character and bidi control shown as its escape."""
    return _SHOWN.sub(_escape, text)


def inert_tree(value: Any) -> Any:
    """Every string in a JSON-like value (keys too) made inert: a payload someone else displays."""
    if isinstance(value, str):
        return inert(value)
    if isinstance(value, dict):
        return {inert_tree(key): inert_tree(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [inert_tree(item) for item in value]
    return value


def inert_json(text: str) -> str:
    """Serialised JSON with each control character written as a `\\uXXXX` escape: the document
    decodes to the same values, and its bytes are safe on a terminal. (A raw control character
    can stand only inside a JSON string, where the escape means the same; a serialiser already
    escapes tab and newline there, so those left are layout.)"""
    return _SHOWN.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
