"""One free text -> the normalised text the stage works on, and what was wrong with it.

Nothing is dropped silently: every document is stored with its flags, and a flagged text the
stage cannot use (empty, blank, symbols only) is counted as skipped (texts.runs).
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

import ftfy

# Characters of a text used for segmentation and extraction; the rest of a longer text (a
# pasted log, a table) is flagged too_long and not read.
MAX_CHARS = 20_000

FLAGS = {
    "empty": "no text",
    "blank": "whitespace only",
    "html": "HTML markup removed",
    "mojibake": "wrongly decoded text repaired (UTF-8 read as Latin-1/cp1252 upstream)",
    "replacement_chars": "holds U+FFFD: bytes were undecodable upstream",
    "too_long": f"longer than {MAX_CHARS:,} characters; only the first {MAX_CHARS:,} read",
    "no_words": "no letter, digit or CJK character (emoji or symbols only)",
}
UNUSABLE = frozenset({"empty", "blank", "no_words"})

_TAG = re.compile(r"<(?:[a-zA-Z!/?][^<>]{0,2000})>")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,10});")
_LATIN1_HIGH = re.compile(r"[\u0080-\u00ff]")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[0-9A-Za-z\u4e00-\u9fff\u3400-\u4dbf]")


# UTF-8 bytes read as GBK show these (寰, 鍏, 瀹 ... are rare in real text): ftfy repairs the
# Latin-1/cp1252 kind, this the GBK kind, only when the bytes decode as UTF-8 exactly.
_GBK_MOJIBAKE = re.compile(r"[寰鍏瀹鐨鏈鎴浣缁璇鍙閫杩澶鍚銆锛]")


def _from_gbk_mojibake(s: str) -> str | None:
    try:
        fixed = s.encode("gbk").decode("utf-8")
    except UnicodeError:
        return None
    return fixed if _WORD.search(fixed) else None


@dataclass(frozen=True)
class Cleaned:
    text: str
    flags: tuple[str, ...]
    length: int  # characters of the text as written

    @property
    def usable(self) -> bool:
        return not UNUSABLE.intersection(self.flags)


def clean(raw: str | None) -> Cleaned:
    """NFKC (full-width digits and signs become ASCII, ℃ becomes °C, m² becomes m2), mojibake
    repaired, HTML tags and entities removed, whitespace collapsed, long texts cut."""
    if raw is None or raw == "":
        return Cleaned("", ("empty",), 0)
    length = len(raw)
    if not raw.strip():
        return Cleaned("", ("blank",), length)
    flags = []
    s = raw
    if _LATIN1_HIGH.search(s):
        fixed = ftfy.fix_encoding(s)
        if fixed != s:
            s = fixed
            flags.append("mojibake")
    elif _GBK_MOJIBAKE.search(s):
        fixed = _from_gbk_mojibake(s)
        if fixed is not None:
            s = fixed
            flags.append("mojibake")
    if _TAG.search(s) or _ENTITY.search(s):
        s = html.unescape(_TAG.sub(" ", s))
        flags.append("html")
    if len(s) > MAX_CHARS:
        s = s[:MAX_CHARS]
        flags.append("too_long")
    s = _SPACE.sub(" ", unicodedata.normalize("NFKC", s)).strip()
    if "\ufffd" in s:
        flags.append("replacement_chars")
    if not _WORD.search(s):
        flags.append("no_words")
    return Cleaned(s, tuple(flags), length)
