"""The domain dictionary, kept as data (lexicon/*.yml): properties and their units,
comparators, topic names. docs/text.md says how to add to it."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

LEXICON_DIR = Path(__file__).parent / "lexicon"


class LexiconError(ValueError):
    """A lexicon file is malformed (names the file and the entry)."""


@dataclass(frozen=True)
class Property:
    code: str
    zh: str
    en: str
    si_unit: str
    families: tuple[str, ...]
    names: tuple[str, ...]
    units: dict[str, float]  # spelling -> factor to the SI unit
    offset: float = 0.0  # value_si = value * factor + offset (°C -> K)
    default_unit: str | None = None

    def to_si(self, value: float, unit: str | None) -> float:
        factor = self.units[unit] if unit is not None else 1.0
        return float(f"{value * factor + self.offset:.12g}")  # 5e-06, not 4.9999999999999996e-06


@dataclass(frozen=True)
class Topic:
    code: str
    zh: str
    en: str
    terms: tuple[str, ...]


@dataclass(frozen=True)
class Lexicon:
    properties: dict[str, Property]
    before: tuple[tuple[str, str], ...]  # (spelling, comparator), longest first
    after: tuple[tuple[str, str], ...]
    range_marks: tuple[str, ...]
    measured: tuple[str, ...]
    required: tuple[str, ...]
    topics: dict[str, Topic]

    @functools.cached_property
    def property_names(self) -> tuple[tuple[str, str], ...]:
        """(spelling, property code), longest spelling first."""
        pairs = {(n, p.code) for p in self.properties.values() for n in p.names}
        return tuple(sorted(pairs, key=lambda x: (-len(x[0]), x[0])))

    @functools.cached_property
    def unit_spellings(self) -> tuple[str, ...]:
        spellings = {u for p in self.properties.values() for u in p.units}
        return tuple(sorted(spellings, key=lambda u: (-len(u), u)))

    def words(self) -> list[str]:
        """Domain words the segmenter must keep whole."""
        out = {n for p in self.properties.values() for n in p.names}
        out |= {t for topic in self.topics.values() for t in topic.terms}
        out |= {s for s, _ in self.before + self.after} | set(self.measured) | set(self.required)
        out |= self.stop_words
        return sorted(w for w in out if re.search(r"[\u4e00-\u9fff]", w) and len(w) > 1)

    @functools.cached_property
    def stop_words(self) -> frozenset[str]:
        """lexicon/stopwords.txt: words that carry no topic."""
        text = (LEXICON_DIR / "stopwords.txt").read_text(encoding="utf-8")
        return frozenset(
            w for line in text.splitlines() if not line.startswith("#") for w in line.split()
        )


def _load(name: str) -> dict:
    path = LEXICON_DIR / name
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise LexiconError(f"{path}: expected a mapping at the top")
    return data


def _spellings(where: str, data: dict) -> tuple[tuple[str, str], ...]:
    pairs = []
    for code, spellings in (data or {}).items():
        if code not in ("ge", "le", "gt", "lt", "eq"):
            raise LexiconError(f"{where}: unknown comparator {code!r} (ge, le, gt, lt, eq)")
        pairs += [(str(s), code) for s in spellings]
    return tuple(sorted(pairs, key=lambda x: (-len(x[0]), x[0])))


@functools.cache
def load_lexicon() -> Lexicon:
    props = {}
    for code, p in (_load("properties.yml").get("properties") or {}).items():
        where = f"{LEXICON_DIR / 'properties.yml'}: {code}"
        try:
            units = {str(k): float(v) for k, v in (p.get("units") or {}).items()}
            default = p.get("default_unit")
            if default is not None and str(default) not in units:
                raise LexiconError(f"{where}: default_unit {default!r} is not among its units")
            props[code] = Property(
                code=code, zh=p["zh"], en=p["en"], si_unit=str(p["si_unit"]),
                families=tuple(p.get("families") or ()), names=tuple(map(str, p["names"])),
                units=units, offset=float(p.get("offset", 0.0)),
                default_unit=None if default is None else str(default),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, LexiconError):
                raise
            raise LexiconError(f"{where}: {exc!r}") from exc
    cmp = _load("comparators.yml")
    topics = {
        code: Topic(code, t["zh"], t["en"], tuple(map(str, t["terms"])))
        for code, t in (_load("topics.yml").get("topics") or {}).items()
    }
    return Lexicon(
        properties=props,
        before=_spellings("comparators.yml before", cmp.get("before")),
        after=_spellings("comparators.yml after", cmp.get("after")),
        range_marks=tuple(sorted(map(str, cmp.get("range") or ()), key=lambda s: -len(s))),
        measured=tuple(map(str, cmp.get("measured") or ())),
        required=tuple(map(str, cmp.get("required") or ())),
        topics=topics,
    )
