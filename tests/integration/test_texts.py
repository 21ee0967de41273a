"""The text stage in the warehouse, as the DAG runs it and with its own logins: landing text
-> staging -> texts.* (as portrait_ml) -> features.customer_requirements, the text features,
a semantic tag raised, the complaint clusters; hostile texts stored and flagged, never a
failed run; a re-run finds nothing new; portrait_ml reads nothing else in staging."""

import csv
import datetime as dt
import json
import shutil
from pathlib import Path

import psycopg
import pytest
from conftest import migrated_database, role_env_for
from conftest import run_dbt as dbt

from sources.loader import load_landing
from texts import stage

pytestmark = pytest.mark.integration
# tests over staging and features (counts reconcile) wait for the second build
CAUTIOUS = ("--indirect-selection", "cautious")

HOSTILE = {
    "TKLATE0001": "",
    "TKLATE0002": "   \t  ",
    "TKLATE0003": "😀😀😀👍",
    "TKLATE0004": "<p>包装破损，<b>纸箱</b>受潮</p><br/>&nbsp;",
    "TKLATE0005": "拉伸强度不达标，" + "ERROR 0x00ff 日志 " * 6000,  # ~100 kB
    "TKLATE0006": "批次一致性差，拉伸强度不达标".encode().decode("latin-1"),
}
# the customer's three complaints that should raise text_repeated_tech_complaints
COMPLAINTS = {
    "TKLATE0007": "实测拉伸强度4650MPa，要求不低于4900MPa，关键参数不达标，批次一致性差",
    "TKLATE0008": "本批次拉伸强度偏低，不合格，杂质含量偏高，质量缺陷需要分析",
    "TKLATE0009": "又一批拉伸强度未达标，批次一致性差，质量异常，电话13812345678",
}


def _late_batch(landing: Path, name: str, code: str) -> None:
    """A service batch in the last month: hostile texts and three quality complaints of one
    customer (linked by its ERP code)."""
    batches = sorted(p.name for p in (landing / "service").iterdir())
    last = batches[-1]
    manifest = json.loads((landing / "service" / last / "_batch.json").read_text())
    d = landing / "service" / f"{last}_late"
    d.mkdir()
    (d / "_batch.json").write_text(
        json.dumps({**manifest, "batch_id": d.name}) + "\n", encoding="utf-8"
    )
    day = dt.date.fromisoformat(f"{last[:4]}-{last[4:6]}-01") - dt.timedelta(days=5)
    opened = f"{day.isoformat()}T09:00:00+08:00"
    with open(d / "tickets.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["ticket_id", "customer_name", "erp_customer_code", "category", "severity",
                    "description", "opened_at"])  # fmt: skip
        for tid, text in {**HOSTILE, **COMPLAINTS}.items():
            w.writerow([tid, name, code, "quality", "high", text, opened])


@pytest.fixture(scope="module")
def texts_world(pg_cluster, tiny_world, tmp_path_factory):
    dsns = migrated_database(pg_cluster, "texts_stage")
    local = Path(tmp_path_factory.mktemp("texts_local"))
    landing = local / "landing"
    shutil.copytree(tiny_world / "landing", landing)
    env = role_env_for(dsns, local)
    load_landing(dsns["loader"], landing, progress=False)
    dbt(["build", "--select", "path:seeds", "path:models/staging", *CAUTIOUS], env)
    first = stage.run(dsns["ml"])
    dbt(["build", "--exclude", "path:models/staging", "path:seeds"], env)
    with psycopg.connect(dsns["superuser"]) as conn:
        cid, name, code = conn.execute(
            "select f.cid, e.customer_name, e.customer_code from features.customer_features f "
            "join identity.customer_ids i on i.cid = f.cid and i.source_system = 'erp' "
            "join staging.stg_erp__customers e on e.customer_code = i.source_record_id "
            "and e.superseded_at is null "
            "where f.as_of_date = (select max(as_of_date) from features.customer_features) "
            "and f.orders_365d > 0 order by f.cid limit 1"
        ).fetchone()
    _late_batch(landing, name, code)
    load_landing(dsns["loader"], landing, progress=False)
    dbt(["build", "--select", "path:models/staging", *CAUTIOUS], env)
    second = stage.run(dsns["ml"])
    dbt(["build", "--exclude", "path:models/staging", "path:seeds"], env)
    return {"dsns": dsns, "env": env, "first": first, "second": second, "cid": cid}


def q(world, query, params=None, who="superuser"):
    with psycopg.connect(world["dsns"][who]) as conn:
        return conn.execute(query, params).fetchall()


def test_every_document_is_stored_once_and_counts_reconcile(texts_world):
    ((staged,),) = q(texts_world, "select count(*) from staging.stg_text__documents")
    ((stored,),) = q(texts_world, "select count(*) from texts.documents")
    assert staged == stored > 100
    first, second = texts_world["first"], texts_world["second"]
    assert first.documents_new == first.documents_seen
    assert second.documents_seen == staged
    # only the late batch is new the second time (an empty cell loads as null: no document)
    assert second.documents_new == len(HOSTILE) + len(COMPLAINTS) - 1
    ((runs,),) = q(texts_world, "select count(*) from texts.runs")
    assert runs == 2


def test_hostile_texts_are_stored_flagged_and_skipped_with_a_count(texts_world):
    rows = dict(q(texts_world, "select source_record_id, flags from texts.documents "
                               "where source_record_id like 'TKLATE%%'"))  # fmt: skip
    assert rows["TKLATE0003"] == ["no_words"]
    assert "html" in rows["TKLATE0004"]
    assert "too_long" in rows["TKLATE0005"]
    assert "mojibake" in rows["TKLATE0006"]
    second = texts_world["second"]
    assert second.flags["no_words"] >= 1 and second.flags["too_long"] >= 1
    assert second.documents_skipped >= 2  # emoji only, whitespace only
    (body,), = q(texts_world, "select body from texts.documents "
                              "where source_record_id = 'TKLATE0006'")  # fmt: skip
    assert body == "批次一致性差,拉伸强度不达标"  # repaired, then NFKC (，-> ,)


def test_requirements_reach_the_customer_in_si_units(texts_world):
    rows = q(texts_world, "select property, comparator, value_si, si_unit from "
                          "features.customer_requirements where cid = %s and doc_id in "
                          "(select doc_id from texts.documents where source_record_id = "
                          "'TKLATE0007')", (texts_world["cid"],))  # fmt: skip
    assert rows == [("tensile_strength", "ge", 4.9e9, "Pa")]
    measured = q(texts_world, "select value_si from texts.requirements r join texts.documents d "
                              "using (doc_id) where d.source_record_id = 'TKLATE0007' "
                              "and r.is_measured")  # fmt: skip
    assert measured == [(4.65e9,)]
    ((n,),) = q(texts_world, "select count(*) from features.customer_requirements")
    assert n > 0


def test_a_semantic_tag_is_raised_from_the_complaints(texts_world):
    cid = texts_world["cid"]
    topics = q(texts_world, "select d.source_record_id, t.topic_code from texts.documents d "
                            "join texts.document_topics dt using (doc_id) join texts.topics t "
                            "using (topic_id) where d.source_record_id = any(%s)",
               (list(COMPLAINTS),))  # fmt: skip
    assert {code for _, code in topics} == {"quality_defect"}, topics
    latest = "(select max(as_of_date) from tags.customer_rule_tags)"
    tagged = q(
        texts_world,
        "select count(*) from tags.customer_rule_tags where cid = %s and tag_code = "
        f"'text_repeated_tech_complaints' and as_of_date = {latest}",
        (cid,),
    )[0][0]
    assert tagged == 1
    (catalog,), = q(texts_world, "select count(*) from marts.mart_tag_catalog "
                                 "where tag_code like 'text_%%'")  # fmt: skip
    assert catalog == 6


def test_a_semantic_tag_shows_the_texts_that_raised_it_masked(texts_world):
    evidence = dict(q(
        texts_world,
        "select source_record_id, excerpt from marts.mart_customer_text_evidence "
        "where cid = %s and tag_code = 'text_repeated_tech_complaints'",
        (texts_world["cid"],),
    ))  # fmt: skip
    assert set(COMPLAINTS) <= set(evidence), evidence
    # the repaired (mojibake) and the cut (100 kB) complaints count too; the empty, blank,
    # emoji-only and packaging ones do not
    assert set(evidence) == set(COMPLAINTS) | {"TKLATE0005", "TKLATE0006"}
    assert evidence["TKLATE0006"] == "批次一致性差,拉伸强度不达标"
    assert len(evidence["TKLATE0005"]) == 281 and evidence["TKLATE0005"].endswith("…")
    assert "138****5678" in evidence["TKLATE0009"] and "13812345678" not in evidence["TKLATE0009"]
    # every current semantic tag of every customer has its evidence, and nothing else has
    orphans = q(
        texts_world,
        "select t.cid, t.tag_code from marts.mart_customer_tags t where t.is_current and "
        "t.tag_code like 'text_%%' "
        "except select cid, tag_code from marts.mart_customer_text_evidence",
    )
    assert orphans == []
    extra = q(
        texts_world,
        "select cid, tag_code from marts.mart_customer_text_evidence except "
        "select cid, tag_code from marts.mart_customer_tags where is_current",
    )
    assert extra == []


def test_complaint_clusters_mask_phone_numbers(texts_world):
    rows = q(texts_world, "select topic_code, complaint_texts, representative_texts "
                          "from marts.mart_complaint_clusters")  # fmt: skip
    assert rows and {r[0] for r in rows} <= {"quality_defect", "delivery_delay", "packaging_damage"}
    shown = " ".join(t for r in rows for t in r[2])
    assert "13812345678" not in shown
    (n,), = q(texts_world, "select count(*) from marts.mart_complaint_clusters "
                           "where 'TKLATE0009' = any(representative_record_ids)")  # fmt: skip
    if n:
        assert "138****5678" in shown


def test_a_rerun_finds_nothing_new_and_changes_nothing(texts_world):
    before = q(texts_world, "select count(*), sum(length(body)) from texts.documents")
    again = stage.run(texts_world["dsns"]["ml"])
    assert again.documents_new == 0 and again.documents_deleted == 0
    assert q(texts_world, "select count(*), sum(length(body)) from texts.documents") == before


def test_the_stage_login_reads_only_the_documents_in_staging(texts_world):
    with psycopg.connect(texts_world["dsns"]["ml"]) as conn:
        conn.execute("select count(*) from staging.stg_text__documents")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select count(*) from staging.stg_crm__accounts")
    analyst = psycopg.connect(texts_world["dsns"]["analyst"])
    with analyst as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select count(*) from texts.documents")


def _drop_free_text_columns(landing: Path) -> int:
    """The landing files as a company whose systems export no free text would send them: every
    free_text column of the contract left out of the CSV header and rows."""
    from sources.contract import load_contract

    dropped = 0
    for source in load_contract().sources:
        for table in source.tables:
            if not table.free_text_columns:
                continue
            for path in landing.glob(f"{source.name}/*/{table.name}.csv"):
                with open(path, encoding=source.encoding, newline="") as fh:
                    rows = list(csv.DictReader(fh))
                if not rows:
                    continue
                keep = [c for c in rows[0] if c not in table.free_text_columns]
                dropped += len(rows[0]) - len(keep)
                with open(path, "w", encoding=source.encoding, newline="") as fh:
                    w = csv.DictWriter(fh, keep, extrasaction="ignore")
                    w.writeheader()
                    w.writerows(rows)
    return dropped


def test_exports_without_text_columns_run_everything_else(pg_cluster, tiny_world, tmp_path):
    dsns = migrated_database(pg_cluster, "texts_none")
    landing = tmp_path / "landing"
    shutil.copytree(tiny_world / "landing", landing)
    assert _drop_free_text_columns(landing) >= 4
    env = role_env_for(dsns, tmp_path / "local")
    load_landing(dsns["loader"], landing, progress=False)  # raises if a batch fails
    dbt(["build", "--select", "path:seeds", "path:models/staging", *CAUTIOUS], env)
    run = stage.run(dsns["ml"])
    assert (run.documents_seen, run.documents_new, run.topics) == (0, 0, 0)
    dbt(["build", "--exclude", "path:models/staging", "path:seeds"], env)  # raises if one fails
    with psycopg.connect(dsns["superuser"]) as conn:
        count = lambda q: conn.execute(q).fetchone()[0]  # noqa: E731
        assert count("select count(*) from texts.documents") == 0
        assert count("select count(*) from features.customer_features") > 0
        assert count("select count(*) from features.customer_features "
                     "where text_documents_365d <> 0") == 0  # fmt: skip
        assert count("select count(*) from tags.customer_rule_tags") > 0
        assert count("select count(*) from tags.customer_rule_tags "
                     "where tag_code like 'text_%'") == 0  # fmt: skip
        assert count("select count(*) from marts.mart_customer_profile") > 0
        assert count("select count(*) from marts.mart_customer_text_evidence") == 0
