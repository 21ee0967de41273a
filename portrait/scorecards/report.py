"""The scorecards' report: one JSON with a section per scorecard, and its Markdown view."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.3f}"
    return "n/a" if value is None else str(value)


def worlds_table(models: Mapping[str, dict]) -> str:
    """The models section's target x world table (Markdown): the policy served, its ratio to
    the oracle with the 5-95 % interval, every candidate's ratio and LightGBM's margin over
    the best baseline; then a line per target with the mean and the worst world."""
    worlds = models.get("worlds")
    if not isinstance(worlds, dict) or not worlds:
        return ""
    lines = [
        "| target | world | served | ratio to oracle (5–95 %) | LightGBM | logistic | "
        "BG/NBD or scorecard | margin over best baseline (5–95 %) | split |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    means = []
    for target, figures in models.items():
        if target in ("worlds", "demo") or not isinstance(figures, dict):
            continue
        for world, f in figures.get("worlds", {}).items():
            if f.get("status") != "judged":
                why = str(f.get("reason", ""))[:160].replace("|", "/").replace("\n", " ")
                lines.append(f"| {target} | {world} | {f.get('status')}: {why} | | | | | | |")
                continue
            cands = {k: v["ratio_to_oracle"] for k, v in f["candidates"].items()}
            third = cands.get("bgnbd", cands.get("scorecard", math.nan))
            lines.append(
                f"| {target} | {world} | {f['served']} | {_fmt(f['ratio_to_oracle'])} "
                f"({_fmt(f['ratio_p05'])}–{_fmt(f['ratio_p95'])}) | {_fmt(cands['lightgbm'])} "
                f"| {_fmt(cands.get('logistic'))} | {_fmt(third)} | "
                f"{_fmt(f['margin_over_best_baseline'])} ({_fmt(f['margin_p05'])}–"
                f"{_fmt(f['margin_p95'])}) vs {f['best_baseline']} | {f.get('split_mode', '')} |"
            )
        means.append(
            f"- **{target}**: mean ratio to the oracle "
            f"{_fmt(figures.get('mean_ratio_to_oracle'))} ({_fmt(figures.get('ratio_p05'))}–"
            f"{_fmt(figures.get('ratio_p95'))}), worst {_fmt(figures.get('worst_ratio_to_oracle'))}"
            f" ({figures.get('worst_world', 'n/a')}), margin over the best baseline "
            f"{_fmt(figures.get('margin_over_best_baseline'))} ({_fmt(figures.get('margin_p05'))}"
            f"–{_fmt(figures.get('margin_p95'))}), best baseline {figures.get('best_baseline')}"
        )
    built = ", ".join(
        f"{w} (scale {k.get('scale')}, seed {k.get('seed')}, noise {k.get('identity_noise')}, "
        f"{k.get('months')} months from {k.get('start')}, {k.get('companies', '?')} companies)"
        if k.get("status") != "failed" else f"{w} (failed: {str(k.get('reason'))[:200]})"
        for w, k in worlds.items()
    )  # fmt: skip
    return "\n".join([f"Model worlds: {built}.", "", *lines, "", *means, ""])


def _markdown(report: Mapping[str, dict]) -> str:
    lines = ["# Quality", ""]
    for section, figures in report.items():
        table = worlds_table(figures) if section == "models" else ""
        if table:
            lines += ["## models by world", "", table]
        lines += [f"## {section}", "", "| figure | value |", "|---|---|"]
        for key, value in figures.items():
            if isinstance(value, dict):
                # e.g. the models section: one dict of figures per task
                for sub, subvalue in value.items():
                    if not isinstance(subvalue, list | dict):
                        lines.append(f"| {key}.{sub} | {subvalue} |")
                continue
            if isinstance(value, list):
                # e.g. the missing tables; lists of records (examples) are shown below
                if all(isinstance(v, str) for v in value):
                    lines.append(f"| {key} | {', '.join(value)} |")
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
