"""Contacts (persons at customers) against the simulator's true persons, Splink beside ours.

``contacts_quality(dsn, truth_dir)`` compares ``identity.person_ids`` with
``truth/persons.csv`` by pairwise and B-cubed figures (``identity.compare``), and resolves the
same person records (``identity.int_person_records_normalized``) with Splink on the person
fields: name (exact / Jaro-Winkler), phone, e-mail, employer CID. Null figures with a note
while the person models or the person truth do not exist.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from portrait import db
from portrait.scorecards.identity import (
    SPLINK_THRESHOLD,
    Record,
    SplinkSpec,
    blank_oversized,
    compare,
    splink_cluster,
)

PERSON_RELATIONS = ("identity.person_ids", "identity.int_person_records_normalized")
GOAL_F1 = 0.95
PERSON_SPEC = SplinkSpec(
    blocking_keys=("name", "phone", "email", "employer_cid"),
    comparison_columns={
        "name": {"name"},
        "phone": {"phone"},
        "email": {"email"},
        "employer_cid": {"employer_cid"},
        "title": {"title"},
    },
    em_rules=(("name",), ("phone",), ("email",), ("employer_cid",)),
    lambda_rules=(("email",), ("phone",), ("name", "employer_cid")),
)
PERSON_RECORDS_SQL = """
select source_system, source_record_id, person_name_norm, phone, email, employer_cid, title
from identity.int_person_records_normalized
"""


def read_person_truth(truth_dir: Path) -> dict[Record, str]:
    """(source_system, record key) -> true person_id, from truth/persons.csv."""
    truth: dict[Record, str] = {}
    with open(Path(truth_dir) / "persons.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("person_id"):
                truth[(row["source"], row["record_key"])] = row["person_id"]
    return truth


def person_frame(records: list[dict]):
    import pandas as pd

    rows = [
        {
            "unique_id": f"{r['source_system']}:{r['source_record_id']}",
            "source_system": r["source_system"],
            "source_record_id": r["source_record_id"],
            "name": (r.get("person_name_norm") or "").strip() or None,
            "phone": (r.get("phone") or "").strip() or None,
            "email": (r.get("email") or "").strip() or None,
            "employer_cid": (r.get("employer_cid") or "").strip() or None,
            "title": (r.get("title") or "").strip() or None,
        }
        for r in records
    ]
    df = pd.DataFrame.from_records(rows, columns=list(rows[0]) if rows else ["unique_id"])
    return blank_oversized(df, PERSON_SPEC.blocking_keys)


def splink_resolve_persons(records: list[dict], threshold: float = SPLINK_THRESHOLD) -> dict:
    """Person records resolved by Splink on name, phone, e-mail, employer CID and title."""
    import splink.comparison_library as cl

    tf = {"term_frequency_adjustments": True}
    comparisons = {
        "name": cl.JaroWinklerAtThresholds("name", [0.95, 0.88]).configure(**tf),
        "phone": cl.ExactMatch("phone").configure(**tf),
        "email": cl.ExactMatch("email").configure(**tf),
        "employer_cid": cl.ExactMatch("employer_cid"),
        "title": cl.ExactMatch("title").configure(**tf),
    }
    return splink_cluster(person_frame(records), PERSON_SPEC, comparisons, threshold)


def _null(note: str) -> dict:
    return {"pairwise_f1": None, "bcubed_f1": None, "splink_pairwise_f1": None, "note": note}


def contacts_quality(dsn: str, truth_dir: Path | str) -> dict:
    """Person IDs against truth/persons.csv, Splink beside them (null with a note when the
    person models or the truth are missing)."""
    truth_path = Path(truth_dir) / "persons.csv"
    with db.connect(dsn) as conn:
        missing = [r for r in PERSON_RELATIONS if not db.relation_exists(conn, *r.split("."))]
    if missing:
        return _null(f"person models not built yet: {', '.join(missing)} missing")
    if not truth_path.exists():
        return _null(f"no person truth: {truth_path} missing (a simulator without persons)")
    started = time.perf_counter()
    truth = read_person_truth(Path(truth_dir))
    with db.connect(dsn) as conn:
        predicted = {
            (s, r): p
            for s, r, p in conn.execute(
                "select source_system, source_record_id, person_id from identity.person_ids"
            ).fetchall()
        }
        cur = conn.execute(PERSON_RECORDS_SQL)
        names = [c.name for c in cur.description]
        records = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    figures = compare(truth, predicted)
    out = {
        k: figures[k]
        for k in ("records", "pairwise_precision", "pairwise_recall", "pairwise_f1",
                  "bcubed_f1", "wrong_merges", "missed_merges")
    }  # fmt: skip
    out["goal_f1"] = GOAL_F1
    out["seconds"] = round(time.perf_counter() - started, 2)
    try:
        import splink  # noqa: F401

        result = splink_resolve_persons(records)
    except ImportError:
        return {**out, "splink_pairwise_f1": None, "splink_note": "splink not installed"}
    except Exception as exc:  # a benchmark: say why, never fail ours
        return {**out, "splink_pairwise_f1": None, "splink_note": f"splink failed: {exc}"[:500]}
    if result["status"] == "untrained":
        return {**out, "splink_pairwise_f1": None, "splink_status": "untrained",
                "splink_note": f"splink could not train: {result['note']}"}  # fmt: skip
    splink_figures = compare(truth, result["clusters"])
    return {
        **out,
        "splink_pairwise_f1": splink_figures["pairwise_f1"],
        "splink_bcubed_f1": splink_figures["bcubed_f1"],
        "splink_status": result["status"],
        "splink_note": result["note"],
    }
