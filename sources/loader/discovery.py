"""Which batches a landing root holds, which files a batch holds, and its manifest."""

from __future__ import annotations

import json
import re
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sources.contract import Contract, SourceSpec, TableSpec
from sources.loader.reading import VALUE_MAX
from sources.loader.report import LoadError

MANIFEST = "_batch.json"
FORMATS = {".csv": "csv", ".parquet": "parquet"}
BATCH_ID_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class BatchRef:
    source: str
    batch_id: str  # "" for a source folder that cannot be loaded at all
    path: Path
    # why the folder cannot be loaded (a bad batch id, a symbolic link out of the landing
    # root, ...): it is reported as failed and the other batches load
    problem: str | None = None


def _escapes(path: Path, real_root: Path, rel: str) -> str | None:
    """Why a symbolic link may not be followed (it leads out of the landing root, or does
    not resolve), or None. Where it points is not said: that is not the export's business."""
    if not path.is_symlink():
        return None
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return f"{rel}: a symbolic link that does not resolve (dangling, or a loop); refused"
    if not target.is_relative_to(real_root):
        return f"{rel}: a symbolic link to a place outside the landing root; refused"
    return None


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def discover_batches(
    landing_root: Path,
    contract: Contract,
    sources: list[str] | None = None,
    batches: list[str] | None = None,
) -> list[BatchRef]:
    """The batches under ``landing_root`` to load, in (batch_id, source) order.

    A folder that cannot be loaded comes with its ``problem``: a batch folder whose name
    is not a batch id, a file where a batch folder belongs, a symbolic link out of the
    landing root, and (batch id "") a source folder the contract does not know or that
    links out of the root. Files directly under the landing root are ignored.
    """
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
    real_root = root.resolve()
    refs: list[BatchRef] = []
    for src_dir in _visible(root):
        name = src_dir.name
        problem = _escapes(src_dir, real_root, name)
        if problem is None and not src_dir.is_dir():
            continue
        if sources is not None and name not in sources:
            continue
        if not contract.has_source(name):
            problem = (
                f"{name}: unknown source folder {name!r} (contract sources: "
                f"{', '.join(contract.source_names)})"
            )
        if problem is not None:
            refs.append(BatchRef(name, "", src_dir, problem))
            continue
        for batch_dir in _visible(src_dir):
            if batches is not None and batch_dir.name not in batches:
                continue
            rel = f"{name}/{batch_dir.name}"
            problem = _escapes(batch_dir, real_root, rel)
            if problem is None and not batch_dir.is_dir():
                problem = f"{rel}: not a batch folder (files go in <source>/<batch_id>/)"
            if problem is None and not BATCH_ID_RE.match(batch_dir.name):
                problem = f"{rel}: batch id {batch_dir.name!r} must consist of [A-Za-z0-9_.-]"
            refs.append(BatchRef(name, batch_dir.name, batch_dir, problem))
    refs.sort(key=lambda r: (r.batch_id, r.source))
    return refs


def _batch_files(ref: BatchRef, spec: SourceSpec) -> list[tuple[TableSpec, Path, str]]:
    """(table, path, format) of each data file in a batch folder, checked against the contract."""
    out: list[tuple[TableSpec, Path, str]] = []
    seen: dict[str, Path] = {}
    real_root = ref.path.parent.parent.resolve()
    for path in sorted(ref.path.iterdir()):
        if path.name.startswith("."):
            continue
        rel = f"{ref.source}/{ref.batch_id}/{path.name}"
        problem = _escapes(path, real_root, rel)
        if problem is not None:
            raise LoadError(problem)
        if path.name == MANIFEST:
            continue
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
        if not stat.S_ISREG(path.stat().st_mode):
            raise LoadError(f"{rel}: not a regular file (a pipe, device or socket); refused")
        seen[table] = path
        out.append((spec.table(table), path, fmt))
    return out


def _read_manifest(ref: BatchRef) -> str | None:
    """extracted_at from the batch manifest (ISO 8601 with offset), or None."""
    path = ref.path / MANIFEST
    rel = f"{ref.source}/{ref.batch_id}/{MANIFEST}"
    problem = _escapes(path, ref.path.parent.parent.resolve(), rel)
    if problem is not None:
        raise LoadError(problem)
    if not path.exists():
        return None
    if not path.is_file():
        raise LoadError(f"{rel}: not a regular file; refused")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise LoadError(f"{rel}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise LoadError(f"{rel}: expected a JSON object")
    for key, expected in (("batch_id", ref.batch_id), ("source", ref.source)):
        if data.get(key) not in (None, expected):
            shown = _short(data[key])
            raise LoadError(f"{rel}: {key} is {shown} but the folder says {expected!r}")
    value = data.get("extracted_at")
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise LoadError(
            f"{rel}: extracted_at {_short(value)} is not an ISO 8601 timestamp"
        ) from exc
    if parsed.tzinfo is None:
        raise LoadError(f"{rel}: extracted_at {_short(value)} has no UTC offset")
    return parsed.isoformat()


def _short(value: object) -> str:
    """A manifest value as an error shows it: the offending field, cut to VALUE_MAX."""
    text = repr(value)
    return text if len(text) <= VALUE_MAX else text[:VALUE_MAX] + "..."
