"""Technical requirements stated in a text, as rows: property, comparator, value in SI units.

"拉伸强度不低于4900MPa" -> (tensile_strength, ge, 4.9e9 Pa); "粒径D50控制在3-5μm" ->
(particle_size_d50, between, 3e-6, 5e-6 m); "实测 4650MPa，要求≥4900MPa" -> the first value
is a measurement (is_measured), the second the requirement, of the property last named.

Rules (docs/text.md): a value belongs to the nearest property named before it in the same
sentence whose units include the value's unit; a value without a unit must follow its
property closely, and takes the property's default unit; a value whose clause
says it was measured (实测, 测得, only ...) is a measurement unless a requirement word
(要求, 需, spec ...) follows that mark. The text must be cleaned first (texts.clean: NFKC).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from texts.lexicon import Lexicon, Property, load_lexicon

SENTENCE_END = "。！？!?;；\n"
CLAUSE_END = "，,、" + SENTENCE_END
NEAR_CHARS = 8  # a unitless value this close after its property's name counts


@dataclass(frozen=True)
class Requirement:
    property: str
    comparator: str  # ge | le | gt | lt | eq | between
    value_si: float
    value_high_si: float | None
    si_unit: str
    value_written: str
    unit_written: str | None  # None: the property's default unit was assumed
    is_measured: bool
    family: str | None  # the property's family when it has one only
    start: int
    end: int


def _alt(spellings, ascii_boundary: bool = True) -> str:
    parts = []
    for s in spellings:
        e = re.escape(s)
        if ascii_boundary and s[:1].isascii() and s[:1].isalpha():
            e = r"(?<![A-Za-z])" + e
        if ascii_boundary and s[-1:].isascii() and s[-1:].isalpha():
            e = e + r"(?![A-Za-z])"
        parts.append(e)
    return "|".join(parts)


_DATE_TIME = re.compile(
    r"(?<![\d.])(?:\d{4}-\d{1,2}(?:-\d{1,2})?|\d{4}/\d{1,2}(?:/\d{1,2})?|\d{4}\.\d{1,2}\.\d{1,2}"
    r"|\d{4}年\d{1,2}月(?:\d{1,2}日)?|(?<![A-Za-z])(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?)(?![\d.])"
)
# what follows a number of something other than a property (a unit we do not know, a count)
_MEASURE_WORD = re.compile(r"(?:[A-Za-z]|\s?[吨件批个片卷套桶箱袋包天周月年次元台只根米])")
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"


class Extractor:
    def __init__(self, lexicon: Lexicon | None = None):
        lx = self.lexicon = lexicon or load_lexicon()
        self._prop_code = {n.lower(): c for n, c in lx.property_names}
        self._before = {s.lower(): c for s, c in lx.before}
        self._after = {s.lower(): c for s, c in lx.after}
        self._units = {code: set(p.units) for code, p in lx.properties.items()}
        self.prop_re = re.compile(_alt(n for n, _ in lx.property_names), re.IGNORECASE)
        # units are case-sensitive (kG is a unit, kg is not; mT is, MT is not)
        units = "(?-i:" + _alt(lx.unit_spellings) + ")"
        self.value_re = re.compile(
            rf"(?:(?P<before>{_alt(s for s, _ in lx.before)})\s*|(?<![A-Za-z0-9.]))"
            rf"(?P<v1>{_NUM})\s*(?P<u1>{units})?"
            rf"(?:\s*(?P<rng>{_alt(lx.range_marks)})\s*(?P<v2>{_NUM})\s*(?P<u2>{units})?)?"
            rf"(?:\s*(?P<after>{_alt(s for s, _ in lx.after)}))?",
            re.IGNORECASE,
        )
        self.measured_re = re.compile(_alt(lx.measured), re.IGNORECASE)
        self.required_re = re.compile(_alt(lx.required), re.IGNORECASE)

    def extract(self, text: str) -> list[Requirement]:
        out: list[Requirement] = []
        # dates and times are not values (blanked, offsets kept)
        text = _DATE_TIME.sub(lambda m: " " * len(m.group(0)), text)
        props = [(m.start(), m.end(), self._prop_code[m.group(0).lower()])
                 for m in self.prop_re.finditer(text)]  # fmt: skip
        if not props:
            return out
        spans = [(s, e) for s, e, _ in props]
        last_end = 0
        for m in self.value_re.finditer(text):
            v_start = m.start("v1")
            if any(s <= v_start < e for s, e in spans):
                continue  # the digits of a name such as D50
            sentence_start = max(text.rfind(ch, 0, m.start()) for ch in SENTENCE_END) + 1
            named = [p for p in props if sentence_start <= p[0] and p[1] <= m.start() + 1]
            req = self._attribute(text, m, named, max(last_end, sentence_start))
            if req is not None:
                out.append(req)
                last_end = m.end()
        return out

    def _attribute(self, text, m, named, clause_from) -> Requirement | None:
        unit = m.group("u1") or m.group("u2")
        for _, p_end, code in reversed(named):
            prop = self.lexicon.properties[code]
            if unit is not None:
                if unit not in self._units[code]:
                    continue
                written = unit
            else:
                # a bare number counts only right after its property ("比容量不低于200"),
                # never a quantity further on ("月用量约2吨")
                number_end = m.end("v2") if m.group("v2") else m.end("v1")
                if prop.default_unit is None or _MEASURE_WORD.match(text, number_end):
                    continue  # "5t", "13吨": a number of something else
                between = text[p_end : m.start()]
                close = len(between) <= NEAR_CHARS and not any(c in CLAUSE_END for c in between)
                bound = (m.group("before") or m.group("after")) and self._comparator(m) != "eq"
                if not (close or bound):
                    continue
                written = None
            return self._row(text, m, prop, written, clause_from)
        return None

    def _comparator(self, m) -> str:
        b, a = m.group("before"), m.group("after")
        before = self._before[b.lower()] if b else None
        after = self._after[a.lower()] if a else None
        # "达到 270GPa 以上": the mark after the value says more than an "eq" word before
        return after if after and before in (None, "eq") else before or after or "eq"

    def _row(self, text, m, prop: Property, unit: str | None, clause_from: int) -> Requirement:
        def num(s: str) -> float:
            return float(s.replace(",", ""))

        si_unit = unit if unit is not None else prop.default_unit
        v1 = prop.to_si(num(m.group("v1")), si_unit)
        b = m.group("before")
        if m.group("rng") and (m.group("rng").lower() != "and" or (b or "").lower() == "between"):
            comparator = "between"
            high = prop.to_si(num(m.group("v2")), si_unit)
            v1, high = min(v1, high), max(v1, high)
        else:
            high = None
            comparator = self._comparator(m)
        clause_start = max(max(text.rfind(ch, 0, m.start()) for ch in CLAUSE_END) + 1, 0)
        lead = text[min(clause_from, clause_start) if clause_from < m.start() else clause_start:
                    m.start()]  # fmt: skip
        marks = list(self.measured_re.finditer(lead))
        measured = bool(marks) and not self.required_re.search(lead, marks[-1].end())
        return Requirement(
            property=prop.code,
            comparator=comparator,
            value_si=v1,
            value_high_si=high,
            si_unit=prop.si_unit,
            value_written=m.group(0).strip(),
            unit_written=unit,
            is_measured=measured,
            family=prop.families[0] if len(prop.families) == 1 else None,
            start=m.start(),
            end=m.end(),
        )
