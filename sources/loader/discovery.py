"""Which batches a landing root holds, which files a batch holds, and its manifest."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sources.contract import Contract, SourceSpec, TableSpec
from sources.loader.report import LoadError

MANIFEST = "_batch.json"
FORMATS = {".csv": "csv", ".parquet": "parquet"}
BATCH_ID_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class BatchRef:
    source: str
    batch_id: str
    path: Path


def discover_batches(
    landing_root: Path,
    contract: Contract,
    sources: list[str] | None = None,
    batches: list[str] | None = None,
) -> list[BatchRef]:
    """The batches under ``landing_root`` to load, in (batch_id, source) order."""
    root = Path(landing_root)
    if not root.is_dir():
        raise LoadError(f"landing root {root} does not exist or is not a folder")
    if sources is not None:
        unknown = [s for s in sources if not contract.has_source(s)]
        if unknown:
            raise LoadError(
                f"unknown source(s) {', '.join(unknown)} (contract sources: "
                f"{', '.join(contract.source_names)})"
            )
    refs: list[BatchRef] = []
    for src_dir in sorted(p for p in root.iterdir() if not p.name.startswith(".")):
        if not src_dir.is_dir():
            continue
        if not contract.has_source(src_dir.name):
            if sources is None:
                raise LoadError(
                    f"{src_dir}: unknown source folder {src_dir.name!r} (contract sources: "
                    f"{', '.join(contract.source_names)})"
                )
            continue
        if sources is not None and src_dir.name not in sources:
            continue
        for batch_dir in sorted(p for p in src_dir.iterdir() if not p.name.startswith(".")):
            if not batch_dir.is_dir():
                continue
            if not BATCH_ID_RE.match(batch_dir.name):
                raise LoadError(
                    f"{batch_dir}: batch id {batch_dir.name!r} must consist of [A-Za-z0-9_.-]"
                )
            if batches is not None and batch_dir.name not in batches:
                continue
            refs.append(BatchRef(src_dir.name, batch_dir.name, batch_dir))
    refs.sort(key=lambda r: (r.batch_id, r.source))
    return refs


def _batch_files(ref: BatchRef, spec: SourceSpec) -> list[tuple[TableSpec, Path, str]]:
    """(table, path, format) of each data file in a batch folder, checked against the contract."""
    out: list[tuple[TableSpec, Path, str]] = []
    seen: dict[str, Path] = {}
    for path in sorted(ref.path.iterdir()):
        if path.name.startswith(".") or path.name == MANIFEST:
            continue
        rel = f"{ref.source}/{ref.batch_id}/{path.name}"
        fmt = FORMATS.get(path.suffix.lower())
        if path.is_dir() or fmt is None:
            raise LoadError(
                f"{rel}: not a landing file (expected <table>.csv or <table>.parquet; "
                f"tables of {spec.name}: {', '.join(spec.table_names)})"
            )
        table = path.stem
        if not spec.has_table(table):
            raise LoadError(
                f"{rel}: unknown table {table!r} for source {spec.name!r} "
                f"(contract tables: {', '.join(spec.table_names)})"
            )
        if table in seen:
            raise LoadError(f"{rel}: table {table!r} also comes as {seen[table].name}; keep one")
        seen[table] = path
        out.append((spec.table(table), path, fmt))
    return out


def _read_manifest(ref: BatchRef) -> str | None:
    """extracted_at from the batch manifest (ISO 8601 with offset), or None."""
    path = ref.path / MANIFEST
    if not path.exists():
        return None
    rel = f"{ref.source}/{ref.batch_id}/{MANIFEST}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise LoadError(f"{rel}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise LoadError(f"{rel}: expected a JSON object")
    for key, expected in (("batch_id", ref.batch_id), ("source", ref.source)):
        if data.get(key) not in (None, expected):
            raise LoadError(f"{rel}: {key} is {data[key]!r} but the folder says {expected!r}")
    value = data.get("extracted_at")
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise LoadError(f"{rel}: extracted_at {value!r} is not an ISO 8601 timestamp") from exc
    if parsed.tzinfo is None:
        raise LoadError(f"{rel}: extracted_at {value!r} has no UTC offset")
    return parsed.isoformat()
