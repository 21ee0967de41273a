"""Identity resolution quality: the CIDs in the warehouse against the simulator's truth.

    python -m portrait.quality --truth DIR [--dsn DSN] [--reports DIR]

``identity_quality(dsn, truth_dir)`` compares ``identity.customer_ids`` with
``truth/records.csv`` over the records of every entity source (CRM accounts, ERP customers,
lab sample requests, service tickets, projects, registry companies): pairwise and B-cubed
precision / recall / F1, wrong and missed merges with examples. The CLI merges the result
into ``reports/quality.json`` under the key ``identity`` and rewrites ``reports/quality.md``.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
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
    result = compare(read_truth(Path(truth_dir)), read_cids(dsn))
    result["goal_f1"] = GOAL_F1
    result["meets_goal"] = min(result["pairwise_f1"], result["bcubed_f1"]) >= GOAL_F1
    result.update(_splink_placeholder())
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


def _splink_placeholder() -> dict:
    """Splink side-by-side figures; null until splink (and duckdb) are installed."""
    try:
        import splink  # noqa: F401
    except ImportError:
        return {
            "splink_pairwise_f1": None,
            "splink_bcubed_f1": None,
            "splink_note": "splink not installed (wanted: splink>=4.0 with duckdb>=1.1)",
        }
    return {
        "splink_pairwise_f1": None,
        "splink_bcubed_f1": None,
        "splink_note": "splink installed; the side-by-side run is not wired yet",
    }


def _markdown(report: Mapping[str, dict]) -> str:
    lines = ["# Quality", ""]
    for section, figures in report.items():
        lines += [f"## {section}", "", "| figure | value |", "|---|---|"]
        for key, value in figures.items():
            if isinstance(value, dict):
                # e.g. the models section: one dict of figures per task
                for sub, subvalue in value.items():
                    if not isinstance(subvalue, list | dict):
                        lines.append(f"| {key}.{sub} | {subvalue} |")
                continue
            if isinstance(value, list):
                continue
            lines.append(f"| {key} | {value} |")
        for key in ("wrong_merge_examples", "missed_merge_examples"):
            for ex in figures.get(key, []) if isinstance(figures, dict) else []:
                lines.append(f"| {key} | {json.dumps(ex, ensure_ascii=False)} |")
        lines.append("")
    return "\n".join(lines)


def write_report(section: str, figures: dict, reports_dir: Path) -> Path:
    """Merge one section into reports/quality.json and rewrite reports/quality.md."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / "quality.json"
    report = json.loads(path.read_text()) if path.exists() else {}
    report[section] = figures
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    (reports_dir / "quality.md").write_text(_markdown(report))
    return path


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portrait.quality", description=__doc__)
    parser.add_argument("--truth", type=Path, help="simulator truth folder (default: settings)")
    parser.add_argument("--dsn", help="warehouse DSN (default: settings)")
    parser.add_argument("--reports", type=Path, help="reports folder (default: settings)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.dsn is None or args.truth is None or args.reports is None:
        from portrait.settings import get_settings

        settings = get_settings()
        args.dsn = args.dsn or settings.warehouse_dsn()
        args.truth = args.truth or settings.truth_dir
        args.reports = args.reports or settings.reports_dir
    figures = identity_quality(args.dsn, args.truth)
    path = write_report("identity", figures, args.reports)
    shown = {k: v for k, v in figures.items() if not isinstance(v, list | dict)}
    print(json.dumps(shown, indent=2, ensure_ascii=False))
    from models_ml.quality import models_quality

    try:
        models = models_quality(args.dsn, args.truth)
    except Exception as exc:  # no champion yet, no features: say so in the report
        models = {"error": f"{type(exc).__name__}: {exc}"}
    write_report("models", models, args.reports)
    print(json.dumps(models, indent=2, ensure_ascii=False, default=str))
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
