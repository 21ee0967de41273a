"""The simulator's free text: every free-text column written, a truth for each text that
points at it and says what it states, texts that leave every other column alone."""

from __future__ import annotations

import csv
import json
import string
from collections import Counter
from pathlib import Path

import pytest

from sources.contract import load_contract
from sources.simulator import simulate
from sources.simulator import texts as tx
from sources.simulator.events import FEEDBACK_COMMENTS

# a hostile long text is LONG_CHARS long: within csv's default limit, raised here anyway
csv.field_size_limit(max(csv.field_size_limit(), 2 * tx.LONG_CHARS))
CONTRACT = load_contract()
TINY = {"scale": 0.4, "months": 14, "seed": 11, "progress": False, "oracle_replays": 4}
FREE_TEXT = {
    (s.name, t.name): t.free_text_columns
    for s in CONTRACT.sources
    for t in s.tables
    if t.free_text_columns
}
_ASCII_DIGITS = str.maketrans("０１２３４５６７８９．", "0123456789.")
# line breaks of str.splitlines() that a CSV writer does not quote
_UNQUOTED_BREAKS = set("\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("texts")
    simulate(out, **TINY)
    return out


def files_of(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def read_csv(path: Path, encoding: str = "utf-8") -> list[dict]:
    with open(path, encoding=encoding, newline="") as fh:
        return list(csv.DictReader(fh))


def landing_rows(root: Path, source: str, table: str) -> list[dict]:
    enc = CONTRACT.source(source).encoding
    rows: list[dict] = []
    for path in sorted((root / "landing" / source).glob(f"*/{table}.csv")):
        rows.extend(read_csv(path, enc))
    return rows


def texts_by_record(root: Path) -> dict[tuple[str, str, str, str], list[str]]:
    """(source, table, record_key, column) -> the values of that column in every version."""
    out: dict[tuple[str, str, str, str], list[str]] = {}
    for (src, table), columns in FREE_TEXT.items():
        key = CONTRACT.source(src).table(table).key
        for row in landing_rows(root, src, table):
            record = "|".join(row[k] for k in key)
            for col in columns:
                out.setdefault((src, table, record, col), []).append(row[col])
    return out


@pytest.fixture(scope="module")
def truth(world) -> list[dict]:
    return read_csv(world / "truth" / "texts.csv")


def test_every_free_text_column_is_written(world):
    assert len(FREE_TEXT) == 4  # notes, comments, description + resolution_note, description
    for (src, table), columns in FREE_TEXT.items():
        rows = landing_rows(world, src, table)
        for col in columns:
            filled = [r[col] for r in rows if r[col].strip()]
            assert len(filled) > 0.3 * len(rows), (src, table, col)


def test_each_truth_row_points_at_a_text_written(world, truth):
    records = {
        (r["source"], r["table"], r["record_key"])
        for r in read_csv(world / "truth" / "records.csv")
    }
    companies = {r["company_id"] for r in read_csv(world / "truth" / "companies.csv")}
    written = texts_by_record(world)
    keys = Counter((r["source"], r["table"], r["record_key"], r["column"]) for r in truth)
    assert max(keys.values()) == 1  # once per record and column, whatever its versions
    for r in truth:
        key = (r["source"], r["table"], r["record_key"], r["column"])
        assert key[:3] in records and r["column"] in FREE_TEXT[key[:2]]
        assert r["company_id"] in companies
        assert r["hostile"] in ("", *tx.HOSTILE_KINDS)
        if r["hostile"] != "empty":
            assert any(v for v in written[key]), key
            assert not _UNQUOTED_BREAKS & set("".join(written[key])), key
        if r["hostile"] in ("empty", "whitespace", "emoji"):
            assert r["topic"] == "" and r["requirements"] == "[]"
        else:
            assert r["topic"] in tx.TOPICS
    # every text in the landing has its truth
    assert {k for k, values in written.items() if any(values)} <= set(keys)


def test_texts_cover_the_topics_and_the_kinds(truth):
    by_table = Counter((r["table"], r["column"]) for r in truth)
    assert set(by_table) == {(t, c) for (_, t), cols in FREE_TEXT.items() for c in cols}
    topics = Counter(r["topic"] for r in truth)
    assert set(tx.TOPICS) - {"packaging_damage", "codevelopment"} <= set(topics), topics
    assert 0.2 < sum(r["requirements"] != "[]" for r in truth) / len(truth) < 0.6


def _stated(text: str, prop: tx.Property, si: float) -> bool:
    """Is the value written in the text in one of the property's units?"""
    plain = text.translate(_ASCII_DIGITS).replace(",", "")
    return any(tx.number(round(u.of(si), 2)) in plain for u in prop.units)


def test_requirements_are_natural_and_written_as_the_truth_says(world, truth):
    written = texts_by_record(world)
    n = 0
    for r in truth:
        versions = written[(r["source"], r["table"], r["record_key"], r["column"])]
        text = next((v for v in versions if v), "")
        for req in json.loads(r["requirements"]):
            prop = tx.PROPERTIES[req["property"]]
            assert req["comparator"] in tx.COMPARATORS and req["unit"] == prop.si
            assert prop.natural(req["value"]), req
            if req["comparator"] == "between":
                assert prop.natural(req["value_high"]) and req["value_high"] > req["value"]
            else:
                assert req["value_high"] is None
            if not r["hostile"]:
                assert _stated(text, prop, req["value"]), (text, req)
                n += 1
        if r["measured"] != "[]":
            assert r["topic"] in ("quality_defect", "spec_requirement")
        for m in json.loads(r["measured"]):
            prop = tx.PROPERTIES[m["property"]]
            assert m["unit"] == prop.si
            if not r["hostile"]:
                assert _stated(text, prop, m["value"]), (text, m)
    assert n > 100


def test_quality_measurements_fail_and_passes_meet_the_requirement(truth):
    for r in truth:
        measured = json.loads(r["measured"])
        if not measured:
            continue
        req = json.loads(r["requirements"])[0]
        value, low, high = measured[0]["value"], req["value"], req["value_high"] or req["value"]
        eps = 1e-9 * abs(high)
        meets = {
            "ge": value >= low - eps, "gt": value > low, "le": value <= low + eps,
            "lt": value < low, "between": low - eps <= value <= high + eps,
        }.get(req["comparator"], abs(value - low) <= eps)  # fmt: skip
        assert meets == (r["topic"] == "spec_requirement"), r


def test_same_seed_same_texts(world, tmp_path):
    again = tmp_path / "again"
    simulate(again, **TINY)
    assert files_of(world) == files_of(again)


def test_concerns_one_row_per_company(world):
    concerns = read_csv(world / "truth" / "concerns.csv")
    companies = [r["company_id"] for r in read_csv(world / "truth" / "companies.csv")]
    assert [r["company_id"] for r in concerns] == companies
    codes = Counter(c for r in concerns for c in r["concerns"].split(";") if c)
    assert set(codes) <= set(tx.CONCERNS)
    assert 0 < sum(1 for r in concerns if not r["concerns"]) < len(concerns)


def test_texts_leave_every_other_column_alone(world, tmp_path):
    plain = tmp_path / "plain"
    simulate(plain, free_text=False, **TINY)
    a, b = files_of(world), files_of(plain)
    assert set(a) - set(b) == {"truth/texts.csv", "truth/concerns.csv"} and set(b) <= set(a)
    for name in b:
        parts = Path(name).parts
        if parts[0] == "truth" or (parts[1], Path(name).stem) not in FREE_TEXT:
            assert a[name] == b[name], name
    for (src, table), columns in FREE_TEXT.items():
        with_text, without = landing_rows(world, src, table), landing_rows(plain, src, table)
        assert len(with_text) == len(without)
        for x, y in zip(with_text, without, strict=True):
            assert {k: v for k, v in x.items() if k not in columns} == {
                k: v for k, v in y.items() if k not in columns
            }
        # without texts: empty columns, test feedback keeps its fixed phrases
        for col in columns:
            values = {r[col] for r in without}
            if col == "comments":
                assert values <= {c for cs in FEEDBACK_COMMENTS.values() for c in cs}
            else:
                assert values == {""}


def test_truth_only_for_the_sources_written(world, truth, tmp_path):
    part = tmp_path / "service"
    simulate(part, sources=["service"], **TINY)
    assert read_csv(part / "truth" / "texts.csv") == [r for r in truth if r["source"] == "service"]
    assert files_of(part)["truth/concerns.csv"] == files_of(world)["truth/concerns.csv"]


def test_bodies_use_exactly_their_variants_fields():
    needs = {"R": {"R"}, "M": {"M", "Rn", "Rtail"}, "": set()}
    stating = {"R", "M", "Rn", "Rtail", "N", "dev", "dev_en"}
    for (_, _, variant), pools in tx.BODIES.items():
        for body in (*pools[0], *pools[1]):
            fields = {f for _, f, _, _ in string.Formatter().parse(body) if f}
            assert needs[variant] <= fields, body
            allowed = needs[variant] | ({"N", "dev", "dev_en"} if variant == "M" else set())
            assert not (fields & stating) - allowed, body
    for pools in tx.ROUTINE_BY_SUBJECT.values():
        for body in (*pools[0], *pools[1]):
            assert not any(f for _, f, _, _ in string.Formatter().parse(body)), body


@pytest.mark.parametrize("kind", tx.HOSTILE_KINDS)
def test_hostile_forms(kind):
    text = "客户要求拉伸强度>=4900MPa，请确认。"
    for variant in (0.1, 0.5, 0.9):
        out = tx.hostile(kind, text, variant)
        assert not _UNQUOTED_BREAKS & set(out)  # line-based readers would split the row
        out.encode("utf-8")
        if kind in ("empty", "whitespace"):
            assert out.strip() == ""
        elif kind == "html":
            assert out.startswith("<") and "拉伸强度&gt;=4900MPa" in out
        elif kind == "long":
            assert len(out) == tx.LONG_CHARS and out.startswith(text)
        elif kind == "mojibake":
            assert out != text and "拉伸" not in out
