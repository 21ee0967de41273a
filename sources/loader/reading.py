"""Reading a landing file: its bytes as CSV in a known encoding, and its header's layout."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from sources.contract import TableSpec
from sources.loader.report import LoadError

RAW_LINE_MAX = 4000  # characters of the original line kept in raw._quarantine
VALUE_MAX = 200  # characters of a bad value quoted in a reason
COPY_CHUNK = 1 << 20


@dataclass
class _Landing:
    """One file's bytes as CSV in a known encoding, and its header."""

    rel: str
    encoding: str  # Python codec of the CSV bytes
    header: list[str] | None  # None: 0-byte file
    open_bytes: object  # callable returning a binary stream of the whole CSV

    def stream(self) -> io.BufferedIOBase:
        return self.open_bytes()  # type: ignore[operator]


def _read_landing(path: Path, fmt: str, encoding: str, rel: str) -> _Landing:
    if fmt == "parquet":
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:
            raise LoadError(f"{rel}: cannot read Parquet ({exc})") from exc
        buf = io.BytesIO()
        pacsv.write_csv(table, buf)
        data = buf.getvalue()
        return _Landing(rel, "utf-8", list(table.column_names), lambda: io.BytesIO(data))
    with path.open("rb") as fh:
        first = fh.readline()
    if not first:
        return _Landing(rel, encoding, None, lambda: path.open("rb"))
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        text = first.decode(codec)
    except UnicodeDecodeError as exc:
        raise LoadError(f"{rel}: the header line is not valid {encoding} ({exc})") from exc
    try:
        header = next(csv.reader([text], strict=True))
    except (csv.Error, StopIteration) as exc:
        raise LoadError(f"{rel}: cannot parse the header line ({exc})") from exc
    return _Landing(rel, encoding, [h.strip() for h in header], lambda: path.open("rb"))


@dataclass
class _Layout:
    """How the header's columns map to the contract table."""

    positions: dict[str, int]  # contract column -> index in the header
    extras: list[tuple[str, int]]  # (header name, index) of columns not in the contract


def _layout(header: list[str], tab: TableSpec, rel: str) -> _Layout:
    positions: dict[str, int] = {}
    extras: list[tuple[str, int]] = []
    seen: set[str] = set()
    contract_cols = {c.lower(): c for c in tab.column_names}
    for i, raw_name in enumerate(header):
        name = raw_name or f"column_{i + 1}"
        low = name.lower()
        if low in seen:
            raise LoadError(f"{rel}: column {name!r} appears twice in the header")
        seen.add(low)
        if low in contract_cols:
            positions[contract_cols[low]] = i
        else:
            extras.append((name, i))
    missing = [c for c in tab.required_columns if c not in positions]
    if missing:
        raise LoadError(
            f"{rel}: required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(m) for m in missing)} missing from the header "
            f"({len(header)} columns)"
        )
    return _Layout(positions, extras)
