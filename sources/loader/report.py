"""What a load did: per file, per batch and overall counts, and the error a batch fails with."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


class LoadError(RuntimeError):
    """A batch could not be loaded; the message names the file and the column or table.

    ``report`` holds what was loaded before the failure (earlier batches are committed,
    the failed batch is rolled back and marked ``failed``).
    """

    def __init__(self, message: str, report: LoadReport | None = None):
        super().__init__(message)
        self.report = report


@dataclass
class FileReport:
    """What happened to one landing file."""

    file: str
    table: str
    records: int = 0
    loaded: int = 0
    quarantined: int = 0
    extra_columns: list[str] = field(default_factory=list)
    # direct (one COPY straight into the typed raw table) | copy (COPY as text into a temp
    # table, then typed) | python (parsed record by record) | none (0-byte file)
    parser: str = "direct"
    # direct (typed by the COPY) | cast (every value cast) | careful (null-on-error casts)
    typing: str = "direct"
    status: str = "loaded"  # loaded | loaded_with_quarantine | quarantined (wrong encoding) | empty
    seconds: float = 0.0

    @property
    def reconciled(self) -> bool:
        return self.loaded + self.quarantined == self.records


@dataclass
class BatchReport:
    """What happened to one batch of one source."""

    source: str
    batch_id: str
    extracted_at: str | None = None
    files: list[FileReport] = field(default_factory=list)
    status: str = "loaded"  # loaded | loaded_with_quarantine | empty | failed
    error: str | None = None
    replaced: bool = False
    seconds: float = 0.0

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)

    @property
    def loaded(self) -> int:
        return sum(f.loaded for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files)

    @property
    def reconciled(self) -> bool:
        return all(f.reconciled for f in self.files)

    def to_dict(self) -> dict:
        out = asdict(self)
        out.update(
            records=self.records,
            loaded=self.loaded,
            quarantined=self.quarantined,
            reconciled=self.reconciled,
        )
        return out


@dataclass
class LoadReport:
    """Per batch and per file counts of one load; ``to_dict()`` is JSON/XCom friendly."""

    batches: list[BatchReport] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(b.records for b in self.batches)

    @property
    def loaded(self) -> int:
        return sum(b.loaded for b in self.batches)

    @property
    def quarantined(self) -> int:
        return sum(b.quarantined for b in self.batches)

    @property
    def reconciled(self) -> bool:
        return all(b.reconciled for b in self.batches)

    @property
    def files(self) -> list[tuple[BatchReport, FileReport]]:
        return [(b, f) for b in self.batches for f in b.files]

    def to_dict(self) -> dict:
        return {
            "batches": [b.to_dict() for b in self.batches],
            "records": self.records,
            "loaded": self.loaded,
            "quarantined": self.quarantined,
            "reconciled": self.reconciled,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    def failures(self) -> list[str]:
        """One line per failed batch: ``failed: <source>/<batch_id>: <reason>``."""
        return [
            f"failed: {f'{b.source}/{b.batch_id}'.rstrip('/')}: {' '.join(str(b.error).split())}"
            for b in self.batches
            if b.status == "failed"
        ]

    def summary(self) -> str:
        """A plain-text table: one line per file, a total per batch and overall."""
        head = ("source", "batch_id", "file", "records", "loaded", "quarantined", "extra", "status")
        rows: list[tuple[str, ...]] = []
        for b in self.batches:
            for f in b.files:
                rows.append(
                    (
                        b.source,
                        b.batch_id,
                        Path(f.file).name,
                        str(f.records),
                        str(f.loaded),
                        str(f.quarantined),
                        ",".join(f.extra_columns),
                        f.status + ("" if f.reconciled else " NOT RECONCILED"),
                    )
                )
            status = b.status if b.error is None else f"failed: {b.error}"
            rows.append(
                (
                    b.source,
                    b.batch_id,
                    "(batch)",
                    str(b.records),
                    str(b.loaded),
                    str(b.quarantined),
                    "",
                    status,
                )
            )
        rows.append(
            (
                "total",
                f"{len(self.batches)} batches",
                "",
                str(self.records),
                str(self.loaded),
                str(self.quarantined),
                "",
                "reconciled" if self.reconciled else "NOT RECONCILED",
            )
        )
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        numeric = {3, 4, 5}

        def fmt(r: tuple[str, ...]) -> str:
            cells = [r[i].rjust(w) if i in numeric else r[i].ljust(w) for i, w in enumerate(widths)]
            return "  ".join(cells).rstrip()

        return "\n".join([fmt(head), "  ".join("-" * w for w in widths), *map(fmt, rows)])
