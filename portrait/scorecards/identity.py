"""Identity resolution quality: the CIDs in the warehouse against the simulator's truth.

``identity_quality(dsn, truth_dir)`` compares ``identity.customer_ids`` with
``truth/records.csv`` over the records of every entity source (CRM accounts, ERP customers,
lab sample requests, service tickets, projects, registry companies): pairwise and B-cubed
precision / recall / F1, wrong and missed merges with examples. ``portrait.scorecards.run``
merges the result into ``reports/quality.json`` under the key ``identity``.
"""

from __future__ import annotations

import csv
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from pathlib import Path

# (source, table) of the truth -> source_system of identity.customer_ids (one table each).
ENTITY_TABLES = {
    ("crm", "accounts"): "crm",
    ("erp", "customers"): "erp",
    ("lab", "sample_requests"): "lab",
    ("service", "tickets"): "service",
    ("projects", "projects"): "projects",
    ("registry", "companies"): "registry",
}
GOAL_F1 = 0.98
EXAMPLES = 5

Record = tuple[str, str]


def read_truth(truth_dir: Path) -> dict[Record, str]:
    """(source_system, source_record_id) -> true company_id for every entity record."""
    truth: dict[Record, str] = {}
    with open(Path(truth_dir) / "records.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            system = ENTITY_TABLES.get((row["source"], row["table"]))
            if system and row["company_id"]:
                truth[(system, row["record_key"])] = row["company_id"]
    return truth


def read_cids(dsn: str) -> dict[Record, str]:
    """(source_system, source_record_id) -> CID from identity.customer_ids."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select source_system, source_record_id, cid from identity.customer_ids"
        ).fetchall()
    return {(s, r): c for s, r, c in rows}


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def compare(truth: Mapping[Record, str], predicted: Mapping[Record, str]) -> dict:
    """Pairwise and B-cubed metrics of a predicted clustering against the truth.

    Records without a predicted CID count as singletons (each is its own cluster).
    """
    records = list(truth)
    pred = {r: predicted.get(r) or f"__unassigned__{i}" for i, r in enumerate(records)}
    joint = Counter((truth[r], pred[r]) for r in records)
    true_sizes = Counter(truth[r] for r in records)
    pred_sizes = Counter(pred[r] for r in records)

    tp = sum(_pairs(n) for n in joint.values())
    pred_pairs = sum(_pairs(n) for n in pred_sizes.values())
    true_pairs = sum(_pairs(n) for n in true_sizes.values())
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0

    b_prec = sum(joint[(truth[r], pred[r])] / pred_sizes[pred[r]] for r in records) / len(records)
    b_rec = sum(joint[(truth[r], pred[r])] / true_sizes[truth[r]] for r in records) / len(records)

    companies_of: dict[str, set[str]] = defaultdict(set)
    cids_of: dict[str, set[str]] = defaultdict(set)
    for (company, cid), _n in joint.items():
        companies_of[cid].add(company)
        cids_of[company].add(cid)
    wrong = {cid: sorted(cs) for cid, cs in companies_of.items() if len(cs) > 1}
    missed = {co: sorted(cs) for co, cs in cids_of.items() if len(cs) > 1}

    def f1(p: float, r: float) -> float:
        return 2 * p * r / (p + r) if p + r else 0.0

    def examples(groups: dict[str, list[str]], by_truth: bool) -> list[dict]:
        out = []
        for key, values in sorted(groups.items(), key=lambda kv: -len(kv[1]))[:EXAMPLES]:
            members = [r for r in records if (truth[r] if by_truth else pred[r]) == key]
            sample = members[:6]
            out.append(
                {
                    ("company_id" if by_truth else "cid"): key,
                    ("cids" if by_truth else "company_ids"): values[:10],
                    "records": [f"{s}:{i}" for s, i in sample],
                }
            )
        return out

    return {
        "records": len(records),
        "true_companies": len(true_sizes),
        "predicted_cids": len(pred_sizes),
        "unassigned_records": sum(1 for r in records if not predicted.get(r)),
        "pairwise_precision": round(precision, 4),
        "pairwise_recall": round(recall, 4),
        "pairwise_f1": round(f1(precision, recall), 4),
        "bcubed_precision": round(b_prec, 4),
        "bcubed_recall": round(b_rec, 4),
        "bcubed_f1": round(f1(b_prec, b_rec), 4),
        "wrong_merges": len(wrong),
        "missed_merges": len(missed),
        "wrong_merge_examples": examples(wrong, by_truth=False),
        "missed_merge_examples": examples(missed, by_truth=True),
    }


def identity_quality(dsn: str, truth_dir: Path | str) -> dict:
    """Measure identity.customer_ids against truth_dir/records.csv (see the module doc)."""
    started = time.perf_counter()
    truth = read_truth(Path(truth_dir))
    result = compare(truth, read_cids(dsn))
    result["goal_f1"] = GOAL_F1
    result["meets_goal"] = min(result["pairwise_f1"], result["bcubed_f1"]) >= GOAL_F1
    result["seconds"] = round(time.perf_counter() - started, 2)
    result.update(splink_quality(dsn, truth_dir, truth))
    return result


SPLINK_THRESHOLD = 0.9
SPLINK_NOTE_MISSING = (
    "splink not installed (wanted: splink>=4.0 with duckdb>=1.1; `uv sync --group bench`)"
)

# Entity records with the fields Splink compares, plus the blocking keys our config uses
# (identity_config blocking.keys, computed as in int_record_pairs_scored) and the credit code
# (a deterministic rule there, a blocking rule here).
SPLINK_RECORDS_SQL = """
select distinct on (source_system, source_record_id)
    source_system || ':' || source_record_id as unique_id,
    source_system,
    source_record_id,
    coalesce(name_norm, name_alt_norm) as name_norm,
    city,
    phone,
    email_company_domain,
    credit_code,
    address_norm,
    left(coalesce(name_norm, name_alt_norm), case when name_script = 'cjk' then 2 else 5 end)
        as name_prefix,
    case when name_script = 'cjk' then substr(name_norm, 2, 3) end as name_suffix,
    left(address_norm, 8) as address_prefix
from identity.int_company_records_normalized
where is_customer_record
order by source_system, source_record_id, known_at desc
"""


def read_splink_records(dsn: str) -> list[dict]:
    """The entity records of identity.int_company_records_normalized, one dict each."""
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        return conn.execute(SPLINK_RECORDS_SQL).fetchall()


def splink_resolve(records: list[dict], threshold: float = SPLINK_THRESHOLD) -> dict[Record, str]:
    """Resolve records with Splink 4 (DuckDB, unsupervised): (system, record id) -> cluster.

    u by random sampling, m by EM over a few blocking rules, lambda from deterministic rules,
    then connected components of the pairs at match probability >= threshold.
    """
    import logging

    import pandas as pd
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.ERROR)

    df = pd.DataFrame.from_records(records)
    blocking = [
        block_on(col)
        for col in (
            "name_norm",
            "name_prefix",
            "name_suffix",
            "phone",
            "email_company_domain",
            "address_prefix",
            "credit_code",
        )
    ]
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.JaroWinklerAtThresholds("name_norm", [0.95, 0.88, 0.7]),
            cl.ExactMatch("city"),
            cl.ExactMatch("phone"),
            cl.ExactMatch("email_company_domain"),
            cl.ExactMatch("credit_code"),
            cl.JaroWinklerAtThresholds("address_norm", [0.9, 0.75]),
        ],
        blocking_rules_to_generate_predictions=blocking,
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(df, settings, DuckDBAPI(), set_up_basic_logging=False)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("credit_code"), block_on("name_norm", "city")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=42)
    # EM cannot estimate the comparisons its own blocking rule fixes: train on several.
    for rule in (block_on("name_norm"), block_on("phone"), block_on("name_prefix", "city")):
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
        except Exception as exc:  # e.g. no pairs, or EM did not converge on this rule
            logging.getLogger(__name__).warning("splink EM on %s failed: %s", rule, exc)
    predictions = linker.inference.predict(threshold_match_probability=threshold / 2)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    ).as_pandas_dataframe()
    return {
        (row.source_system, row.source_record_id): f"S{row.cluster_id}"
        for row in clusters.itertuples(index=False)
    }


def splink_quality(
    dsn: str, truth_dir: Path | str, truth: Mapping[Record, str] | None = None
) -> dict:
    """Resolve the same records with Splink and score them with compare() against the truth.

    Null figures with a note when splink (an optional `bench` dependency) is not installed.
    """
    try:
        import duckdb  # noqa: F401
        import splink
    except ImportError:
        return {
            "splink_pairwise_f1": None,
            "splink_bcubed_f1": None,
            "splink_seconds": None,
            "splink_note": SPLINK_NOTE_MISSING,
        }
    truth = truth if truth is not None else read_truth(Path(truth_dir))
    started = time.perf_counter()
    try:
        predicted = splink_resolve(read_splink_records(dsn))
    except Exception as exc:  # a benchmark: say why in the report, never fail ours
        return {
            "splink_pairwise_f1": None,
            "splink_bcubed_f1": None,
            "splink_seconds": None,
            "splink_note": f"splink run failed: {type(exc).__name__}: {exc}"[:500],
        }
    seconds = time.perf_counter() - started
    figures = compare(truth, predicted)
    return {
        "splink_pairwise_precision": figures["pairwise_precision"],
        "splink_pairwise_recall": figures["pairwise_recall"],
        "splink_pairwise_f1": figures["pairwise_f1"],
        "splink_bcubed_precision": figures["bcubed_precision"],
        "splink_bcubed_recall": figures["bcubed_recall"],
        "splink_bcubed_f1": figures["bcubed_f1"],
        "splink_predicted_cids": figures["predicted_cids"],
        "splink_seconds": round(seconds, 2),
        "splink_note": (
            f"splink {splink.__version__} (DuckDB, unsupervised EM), clustered at match "
            f"probability >= {SPLINK_THRESHOLD}"
        ),
    }
