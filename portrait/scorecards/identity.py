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
from dataclasses import dataclass
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
    predicted = read_cids(dsn)
    result = compare(truth, predicted)
    try:
        records = read_splink_records(dsn)
    except Exception as exc:  # the engine's columns changed: say so, keep the other figures
        records = None
        result["wrong_merges_distinct_codes"] = None
        result["companies_in_wrong_merges_distinct_codes"] = None
        result["codes_note"] = f"credit codes unreadable: {type(exc).__name__}: {exc}"[:300]
    else:
        codes = valid_codes(records)
        coded = _coded_merges(truth, predicted, codes)
        result["wrong_merges_distinct_codes"] = len(coded)
        result["companies_in_wrong_merges_distinct_codes"] = sum(len(c) for c in coded)
    result["goal_f1"] = GOAL_F1
    result["meets_goal"] = min(result["pairwise_f1"], result["bcubed_f1"]) >= GOAL_F1
    result["seconds"] = round(time.perf_counter() - started, 2)
    result.update(splink_quality(dsn, truth_dir, truth, records))
    return result


SPLINK_THRESHOLD = 0.9
SPLINK_NOTE_MISSING = (
    "splink not installed (wanted: splink>=4.0 with duckdb>=1.1; `uv sync --group bench`)"
)
# Our blocking skips a key value shared by more than identity_blocking.max_block_size profiles
# (dbt_project.yml); Splink's blocking columns drop such values too, so both compare the same
# candidate pairs.
MAX_BLOCK_SIZE = 400
# EM over a rule with more candidate pairs than this is skipped (memory, minutes).
MAX_TRAINING_PAIRS = 2_000_000

# The entity records of the identity stage, latest version of each (every column: the
# engine's normalised fields change; splink_frame picks the ones it compares).
SPLINK_RECORDS_SQL = """
select distinct on (source_system, source_record_id) *
from identity.int_company_records_normalized
where is_customer_record
order by source_system, source_record_id, known_at desc
"""

# Splink's input columns -> the engine fields they come from; blocking keys as ours
# (int_record_pairs_scored: name exact / prefix / two one-character-skip suffixes, phone,
# company e-mail domain, address prefix) plus the deterministic links (credit code, the
# ERP customer code a ticket names).
BLOCKING_KEYS = (
    "name", "name_prefix", "name_suffix", "name_skip", "phone", "email_domain",
    "address_prefix", "credit_code", "erp_code",
)  # fmt: skip
# comparison -> the input columns it reads (an EM rule on any of them cannot estimate its m)
COMPARISON_COLUMNS = {
    "name": {"name", "name_prefix", "name_suffix", "name_skip"},
    "city": {"city"},
    "phone": {"phone"},
    "email": {"email", "email_domain"},
    "address": {"address", "address_prefix"},
    "credit_code": {"credit_code"},
    "contact_name": {"contact_name"},
    "erp_code": {"erp_code"},
}
# EM training rules, tried in order until every comparison has been estimated by one
EM_RULES = (
    ("name",), ("phone",), ("name_prefix", "city"), ("email_domain",), ("address_prefix",),
    ("credit_code",), ("erp_code",), ("name_skip",), ("city",),
)  # fmt: skip
# deterministic rules for lambda (the share of pairs that match), with their assumed recall
LAMBDA_RULES = (("credit_code",), ("erp_code",), ("name", "city"))
LAMBDA_RECALL = 0.7


@dataclass(frozen=True)
class SplinkSpec:
    """What Splink blocks on and how it trains, for one kind of entity record."""

    blocking_keys: tuple[str, ...]
    comparison_columns: Mapping[str, set[str]]  # comparison -> the columns it reads
    em_rules: tuple[tuple[str, ...], ...]
    lambda_rules: tuple[tuple[str, ...], ...]


COMPANY_SPEC = SplinkSpec(BLOCKING_KEYS, COMPARISON_COLUMNS, EM_RULES, LAMBDA_RULES)


def read_splink_records(dsn: str) -> list[dict]:
    """The entity records of identity.int_company_records_normalized, one dict each."""
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        return conn.execute(SPLINK_RECORDS_SQL).fetchall()


def _text(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def splink_frame(records: list[dict]):
    """The records as Splink's input: the fields we compare and our blocking keys, with key
    values shared by more than MAX_BLOCK_SIZE records blanked in the key columns (as ours)."""
    import pandas as pd

    rows = []
    for r in records:
        name = _text(r.get("name_norm")) or _text(r.get("name_alt_norm"))
        cjk = r.get("name_script") == "cjk"
        address = _text(r.get("address_norm"))
        system = r.get("source_system")
        erp = r.get("source_record_id") if system == "erp" else r.get("erp_customer_code")
        rows.append(
            {
                "unique_id": f"{system}:{r.get('source_record_id')}",
                "source_system": system,
                "source_record_id": r.get("source_record_id"),
                "name": name,
                "name_prefix": name[: 2 if cjk else 5] if name else None,
                "name_suffix": name[1:4] if name and cjk else None,
                "name_skip": name[0] + name[2:4] if name and cjk and len(name) > 2 else None,
                "city": _text(r.get("city")),
                "phone": _text(r.get("phone")),
                "email": _text(r.get("email")),
                "email_domain": _text(r.get("email_company_domain")),
                "address": address,
                "address_prefix": address[:8] if address else None,
                "credit_code": _text(r.get("credit_code")),
                "contact_name": _text(r.get("contact_name")),
                "erp_code": _text(erp),
            }
        )
    df = pd.DataFrame.from_records(rows, columns=list(rows[0]) if rows else ["unique_id"])
    return blank_oversized(df, BLOCKING_KEYS)


def blank_oversized(df, keys: tuple[str, ...]):
    """Add a blocking column b_<key> per key: the value, blank where it is shorter than two
    characters or shared by more than MAX_BLOCK_SIZE records (our blocking skips those)."""
    for key in keys:
        if key not in df:
            continue
        values = df[key].where(df[key].str.len() >= 2)
        sizes = values.map(values.value_counts())
        df[f"b_{key}"] = values.where(sizes.between(2, MAX_BLOCK_SIZE))
    return df


def rule_pairs(df, columns: tuple[str, ...]) -> int:
    """Record pairs a block_on(columns) rule yields (null keys match nothing)."""
    sizes = df.dropna(subset=list(columns)).groupby(list(columns)).size()
    return int((sizes * (sizes - 1) // 2).sum())


def _training_columns(rule: tuple[str, ...], keys: tuple[str, ...]) -> tuple[str, ...]:
    # blocking keys are blanked for oversized blocks; the other fields are used as they are
    return tuple(f"b_{c}" if c in keys else c for c in rule)


def splink_resolve(records: list[dict], threshold: float = SPLINK_THRESHOLD) -> dict:
    """Resolve company records with Splink 4 (DuckDB, unsupervised), configured as ours: the
    same fields, the same blocking keys, term-frequency adjustments on shared identifiers.
    See splink_cluster for the training and the result."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    tf = {"term_frequency_adjustments": True}
    comparisons = {
        "name": cl.JaroWinklerAtThresholds("name", [0.95, 0.88, 0.7]).configure(**tf),
        "city": cl.ExactMatch("city").configure(**tf),
        "phone": cl.ExactMatch("phone").configure(**tf),
        "email": cl.CustomComparison(
            output_column_name="email",
            comparison_levels=[
                cll.NullLevel("email"),
                cll.ExactMatchLevel("email", term_frequency_adjustments=True),
                cll.ExactMatchLevel("email_domain", term_frequency_adjustments=True),
                cll.ElseLevel(),
            ],
        ),
        "address": cl.JaroWinklerAtThresholds("address", [0.9, 0.75]).configure(**tf),
        "credit_code": cl.ExactMatch("credit_code"),
        "contact_name": cl.ExactMatch("contact_name").configure(**tf),
        "erp_code": cl.ExactMatch("erp_code"),
    }
    return splink_cluster(splink_frame(records), COMPANY_SPEC, comparisons, threshold)


def splink_cluster(df, spec: SplinkSpec, comparisons: dict, threshold: float) -> dict:
    """Train Splink on `df` with rules chosen from what it holds and cluster it.

    Lambda from the deterministic rules that find pairs, u by random sampling, m by EM over
    rules with pairs until every comparison was estimated by one. Returns {"clusters":
    {(system, record id): cluster}, "status": trained | partly_trained | untrained, "note",
    "training"}; untrained (nothing to learn from) predicts nothing and says why.
    """
    import logging

    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.ERROR)

    if len(df) < 2:
        return {"clusters": {}, "status": "untrained", "note": "fewer than two records",
                "training": {}}  # fmt: skip
    cols_of = spec.comparison_columns
    compared = [
        c for c in comparisons
        if c in cols_of and c in df and df[c].notna().sum() >= 2
    ]  # fmt: skip
    blocking = [
        (f"b_{k}",) for k in spec.blocking_keys if f"b_{k}" in df and rule_pairs(df, (f"b_{k}",))
    ]
    training: dict = {"blocking_rules": {r[0]: rule_pairs(df, r) for r in blocking}}
    if not compared or not blocking:
        why = "no comparable fields" if not compared else "no blocking rule finds a pair"
        return {"clusters": {}, "status": "untrained", "note": why, "training": training}
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[comparisons[c] for c in compared],
        blocking_rules_to_generate_predictions=[block_on(*r) for r in blocking],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(df, settings, DuckDBAPI(), set_up_basic_logging=False)
    notes: list[str] = []

    keys = spec.blocking_keys
    lam_rules = [_training_columns(r, keys) for r in spec.lambda_rules]
    lam_rules = [r for r in lam_rules if all(c in df for c in r) and rule_pairs(df, r)]
    training["lambda_rules"] = [" & ".join(r) for r in lam_rules]
    if lam_rules:
        linker.training.estimate_probability_two_random_records_match(
            [block_on(*r) for r in lam_rules], recall=LAMBDA_RECALL
        )
    else:
        notes.append("lambda: no deterministic rule finds a pair, Splink's default prior")
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=42)

    # EM cannot estimate the comparisons its own blocking rule reads: train on several.
    untrained = set(compared)
    em_runs: dict[str, int] = {}
    for rule in spec.em_rules:
        if not untrained:
            break
        cols = _training_columns(rule, keys)
        if not all(c in df for c in cols):
            continue
        pairs = rule_pairs(df, cols)
        if pairs == 0 or pairs > MAX_TRAINING_PAIRS:
            continue
        learns = {c for c in untrained if not (cols_of[c] & set(rule))}
        if not learns:
            continue
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(block_on(*cols))
        except Exception as exc:  # EM did not converge, or a level has no pairs in this block
            notes.append(f"EM on {' & '.join(rule)} failed: {type(exc).__name__}")
            continue
        em_runs[" & ".join(rule)] = pairs
        untrained -= learns
    training["em_rules"] = em_runs
    if not em_runs:
        note = "; ".join([*notes, "no EM training rule finds pairs: m cannot be estimated"])
        return {"clusters": {}, "status": "untrained", "note": note, "training": training}
    if untrained:
        notes.append(f"m not estimated for {', '.join(sorted(untrained))} (Splink's defaults)")
    status = "partly_trained" if untrained or not lam_rules else "trained"

    predictions = linker.inference.predict(threshold_match_probability=threshold / 2)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    ).as_pandas_dataframe()
    training["pairs_predicted"] = int(
        linker.misc.query_sql(
            f"select count(*) as n from {predictions.physical_name} "
            f"where match_probability >= {threshold}"
        )["n"].iloc[0]
    )
    return {
        "clusters": {
            (row.source_system, row.source_record_id): f"S{row.cluster_id}"
            for row in clusters.itertuples(index=False)
        },
        "status": status,
        "note": "; ".join(notes),
        "training": training,
    }


def valid_codes(records: list[dict]) -> dict[Record, str]:
    """(system, record id) -> the valid credit code the record carries (engine's check)."""
    return {
        (r["source_system"], r["source_record_id"]): code
        for r in records
        if (code := _text(r.get("credit_code")))
    }


def wrong_merges_distinct_codes(
    truth: Mapping[Record, str], predicted: Mapping[Record, str], codes: Mapping[Record, str]
) -> int:
    """Predicted customers holding records of two or more true companies that each carry a
    valid credit code on one of those records: merges the credit-code guard must prevent."""
    return len(_coded_merges(truth, predicted, codes))


def companies_in_wrong_merges_distinct_codes(
    truth: Mapping[Record, str], predicted: Mapping[Record, str], codes: Mapping[Record, str]
) -> int:
    """The true companies inside those customers (one customer can swallow hundreds)."""
    return sum(len(companies) for companies in _coded_merges(truth, predicted, codes))


def _coded_merges(truth, predicted, codes) -> list[set[str]]:
    coded: dict[str, set[str]] = defaultdict(set)
    for record, company in truth.items():
        cluster = predicted.get(record)
        if cluster and record in codes:
            coded[cluster].add(company)
    return [companies for companies in coded.values() if len(companies) > 1]


def splink_quality(
    dsn: str,
    truth_dir: Path | str,
    truth: Mapping[Record, str] | None = None,
    records: list[dict] | None = None,
) -> dict:
    """Resolve the same records with Splink and score them with compare() against the truth.

    Null figures with a note when splink (an optional `bench` dependency) is not installed,
    when it fails, or when it cannot train on these records (`splink_status` untrained).
    """
    empty = {
        "splink_pairwise_f1": None,
        "splink_bcubed_f1": None,
        "splink_wrong_merges_distinct_codes": None,
        "splink_seconds": None,
    }
    try:
        import duckdb  # noqa: F401
        import splink
    except ImportError:
        return {**empty, "splink_status": "missing", "splink_note": SPLINK_NOTE_MISSING}
    truth = truth if truth is not None else read_truth(Path(truth_dir))
    started = time.perf_counter()
    try:
        records = records if records is not None else read_splink_records(dsn)
        result = splink_resolve(records)
    except Exception as exc:  # a benchmark: say why in the report, never fail ours
        note = f"splink run failed: {type(exc).__name__}: {exc}"[:500]
        return {**empty, "splink_status": "failed", "splink_note": note}
    seconds = time.perf_counter() - started
    version = getattr(splink, "__version__", "?")
    if result["status"] == "untrained":
        return {
            **empty,
            "splink_status": "untrained",
            "splink_note": f"splink {version} could not train: {result['note']}",
            "splink_training": result["training"],
        }
    figures = compare(truth, result["clusters"])
    note = (
        f"splink {version} (DuckDB, unsupervised EM, our fields and blocking keys, "
        f"term-frequency adjustments), clustered at match probability >= {SPLINK_THRESHOLD}"
    )
    return {
        "splink_pairwise_precision": figures["pairwise_precision"],
        "splink_pairwise_recall": figures["pairwise_recall"],
        "splink_pairwise_f1": figures["pairwise_f1"],
        "splink_bcubed_precision": figures["bcubed_precision"],
        "splink_bcubed_recall": figures["bcubed_recall"],
        "splink_bcubed_f1": figures["bcubed_f1"],
        "splink_predicted_cids": figures["predicted_cids"],
        "splink_wrong_merges": figures["wrong_merges"],
        "splink_wrong_merges_distinct_codes": wrong_merges_distinct_codes(
            truth, result["clusters"], valid_codes(records)
        ),
        "splink_companies_in_wrong_merges_distinct_codes": (
            companies_in_wrong_merges_distinct_codes(
                truth, result["clusters"], valid_codes(records)
            )
        ),
        "splink_seconds": round(seconds, 2),
        "splink_status": result["status"],
        "splink_note": note + (f"; {result['note']}" if result["note"] else ""),
        "splink_training": result["training"],
    }
