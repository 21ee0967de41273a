"""Zone abbreviations in timestamps: which words are ambiguous, which the contract maps, and
a byte scan that keeps a file with any of them off the direct path (whose COPY would read
``CST`` as US Central without a trace)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import psycopg

from sources.contract import SourceSpec
from sources.loader.reading import COPY_CHUNK, _Landing

# Abbreviations that name one offset whatever the exporter: read as PostgreSQL reads them.
UNAMBIGUOUS = frozenset({"UTC", "UT", "UCT", "GMT", "Z", "ZULU"})

# A run of letters right after a digit (blanks, +, - or ( between): where an abbreviation
# stands in a timestamp (`09:30:00 CST`, `09:30CST`, `09:30 (CST)`, `2024-03-01 BST`, Java's
# `Fri Mar 01 09:30:00 CST 2024`). Letters joined to '/' or '_' belong to a zone name. The
# typing statement's raw._zone_word (schema.sql) finds words by the same rule, so both
# paths agree on every value.
_CANDIDATE = re.compile(rb"[0-9][ \t+(-]*([A-Za-z]{2,10})(?![A-Za-z/_])")
_OVERLAP = 32
# A quick look first (bytes.translate and find run at memory speed, the regex does not):
# digits become 0, letters a, the blanks and signs between them go; "0aa" is then where
# _CANDIDATE could match.
_CLASSES = (
    bytes(
        ord("0") if chr(b).isdigit() else ord("a") if chr(b).isalpha() else ord(",")
        for b in range(128)
    )
    + b"," * 128
)
_BETWEEN = b" \t+(-"


@dataclass(frozen=True)
class ZoneWords:
    """The zone words of one source: ambiguous ones (quarantined) and mapped ones."""

    ambiguous: tuple[str, ...]  # upper case: the warehouse's abbreviations, minus the rest
    aliases: tuple[tuple[str, str], ...]  # (abbreviation, IANA zone) from the contract

    @property
    def aliases_json(self) -> str:
        return json.dumps(dict(self.aliases))

    @property
    def scanned(self) -> frozenset[bytes]:
        return frozenset(w.encode() for w in (*self.ambiguous, *(a for a, _ in self.aliases)))


NO_ZONES = ZoneWords((), ())  # the typing statement without zone checks


def zone_words(conn: psycopg.Connection, spec: SourceSpec) -> ZoneWords:
    """The source's zone words, with the abbreviations the warehouse knows (its
    ``timezone_abbreviations`` set)."""
    known = conn.execute("select array_agg(upper(abbrev)) from pg_timezone_abbrevs").fetchone()[0]
    aliases = spec.aliases
    ambiguous = sorted(set(known or ()) - UNAMBIGUOUS - set(aliases))
    return ZoneWords(tuple(ambiguous), spec.timezone_aliases)


def may_hold_zone_words(landing: _Landing, words: ZoneWords) -> bool:
    """True if the file has a zone word where a timestamp would carry one (a superset of
    the values the typing statement checks; a hit only costs the careful path)."""
    wanted = words.scanned
    tail = b""
    with landing.stream() as fh:
        while chunk := fh.read(COPY_CHUNK):
            data = tail + chunk
            if b"0aa" in data.translate(_CLASSES, _BETWEEN):
                for m in _CANDIDATE.finditer(data):
                    if m.group(1).upper() in wanted:
                        return True
            tail = data[-_OVERLAP:]
    return False
