"""The scorecards' report: one JSON with a section per scorecard, and its Markdown view."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path


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
