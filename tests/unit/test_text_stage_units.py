"""The text stage's parts without a warehouse: cleaning flags (the bad-input cases), the
segmenter's domain words, topic discovery and its keyword baseline, and the texts.* DDL
against the dbt source YAML that stands in for it."""

import re
from pathlib import Path

import pytest
import yaml

from sources.contract import load_contract
from texts import stage
from texts.clean import MAX_CHARS, clean
from texts.segment import Segmenter
from texts.topics import discover, keyword_topics

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("raw", "flags", "usable"),
    [
        (None, ("empty",), False),
        ("", ("empty",), False),
        ("  \t\n ", ("blank",), False),
        ("😀😀👍🏻", ("no_words",), False),
        ("<p>包装破损</p><br/>&nbsp;请补发", ("html",), True),
        ("拉伸强度不达标".encode().decode("latin-1"), ("mojibake",), True),
        ("拉伸强度不达标" + "x" * (MAX_CHARS + 10), ("too_long",), True),
        ("包装\ufffd破损", ("replacement_chars",), True),
        ("拉伸强度４９００ＭＰａ", (), True),
    ],
)
def test_clean_flags(raw, flags, usable):
    c = clean(raw)
    assert c.flags == flags
    assert c.usable is usable
    assert len(c.text) <= MAX_CHARS


def test_clean_repairs_and_normalises():
    assert clean("拉伸强度不达标".encode().decode("latin-1")).text == "拉伸强度不达标"
    assert clean("<p>包装破损</p><br/>&nbsp;请补发").text == "包装破损 请补发"
    assert clean("拉伸强度＞＝４９００ＭＰａ，耐温150℃").text == "拉伸强度>=4900MPa,耐温150°C"
    assert clean("a" * 100_000).length == 100_000


def test_segmenter_keeps_domain_words_whole():
    words = Segmenter().words("实测拉伸强度4650MPa，希望粒径分布更窄，包装破损")
    assert "拉伸强度" in words and "包装" in words
    assert not any(w[0].isdigit() for w in words)
    assert "的" not in Segmenter().words("包装的问题")


def test_topics_separate_distinct_vocabularies():
    seg = Segmenter()
    texts = (
        ["包装破损，纸箱受潮，请改进包装"] * 20
        + ["交期延误，到货推迟，请尽快发货"] * 20
        + ["价格比竞品高8%，希望给折扣优惠"] * 20
    )
    words = [seg.words(t) for t in texts]
    found = discover([f"d{i}" for i in range(len(texts))], words)
    assert {t.code for t in found.topics} == {
        "packaging_damage", "delivery_delay", "price_negotiation"
    }  # fmt: skip
    names = [found.topics[a].code for a in found.assignment]
    assert names[:20] == ["packaging_damage"] * 20
    assert names[20:40] == ["delivery_delay"] * 20
    assert keyword_topics(words)[45] == "price_negotiation"
    assert sum(found.topics[t].documents for t in range(3)) == 60


def test_topics_need_documents():
    found = discover(["a"], [["包装"]])
    assert found.topics == [] and list(found.assignment) == [-1]


DDL = re.compile(r"create table if not exists texts\.(\w+) \((.*?)\n\);", re.S | re.I)
TYPE = re.compile(r"^(\w+)\s+(.+?)(?:\s+not null|\s+primary key|\s+references|\s+default|,|$)")


def test_texts_ddl_matches_the_dbt_sources():
    ddl = {}
    for name, body in DDL.findall(stage.DDL):
        cols = []
        for line in body.splitlines():
            line = line.strip()
            if line and not line.lower().startswith("primary key"):
                column, data_type = TYPE.match(line).groups()
                cols.append((column, data_type.lower()))
        ddl[name] = cols
    yml = REPO / "dbt_project/models/staging/texts/_texts__sources.yml"
    source = yaml.safe_load(yml.read_text(encoding="utf-8"))["sources"][0]
    declared = {
        t["name"]: [(c["name"], c["data_type"].lower()) for c in t["columns"]]
        for t in source["tables"]
    }
    ddl.pop("runs")  # the stage's own log, not read by dbt
    assert ddl == declared


def test_staging_lists_every_free_text_column_of_the_contract():
    """stg_text__documents reads exactly the contract's free_text columns."""
    sql = (REPO / "dbt_project/models/staging/text/stg_text__documents.sql").read_text("utf-8")
    listed = set(re.findall(r"\('(\w+)', '(\w+)', '\w+', '(\w+)',", sql))
    declared = {
        (src.name, tab.name, col)
        for src in load_contract().sources
        for tab in src.tables
        for col in tab.free_text_columns
    }
    assert listed == declared


def test_process_counts_every_flag_and_skips_unusable_texts():
    import datetime as dt

    from texts.requirements import Extractor

    known = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    rows = [
        (f"d{i}", "service", "tickets", f"T{i}", "description", known, body)
        for i, body in enumerate(["😀", "👍👍", "<p>包装破损</p>", "拉伸强度≥4900MPa", "  "])
    ]
    result = stage.StageResult()
    docs, reqs = stage.process(rows, Segmenter(), Extractor(), result)
    assert result.flags == {"no_words": 2, "html": 1, "blank": 1}
    assert result.documents_skipped == 3
    assert docs["doc_id"] == [r[0] for r in rows]  # every document stored, usable or not
    assert reqs["property"] == ["tensile_strength"] and reqs["value_si"] == ["4900000000.0"]
