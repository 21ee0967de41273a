"""Reading a landing file: its bytes as CSV in a known encoding, and its header's layout.

Also the two checks on a file's bytes that every load path shares: whether the declared
encoding fits them (else the whole file is quarantined), and whether PostgreSQL's CSV reader
would read them exactly as the record-by-record reader does (else only that reader is used).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from sources.contract import TableSpec
from sources.loader.report import LoadError

RAW_LINE_MAX = 4000  # characters of the original line kept in raw._quarantine
VALUE_MAX = 200  # characters of a bad value quoted in a reason
COPY_CHUNK = 1 << 20
ENCODING_SAMPLE = 1 << 16  # bytes at the start of a file that the encoding check reads

# C0 control characters and DEL, but tab, CR and LF (which CSV allows, CR and LF in quotes).
CONTROL_CHARS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f"


@dataclass
class _Landing:
    """One file's bytes as CSV in a known encoding, and its header."""

    rel: str
    encoding: str  # Python codec of the CSV bytes
    header: list[str] | None  # None: 0-byte file
    open_bytes: object  # callable returning a binary stream of the whole CSV
    mismatch: _Mismatch | None = None  # the bytes are in another encoding than declared
    record_by_record: bool = False  # set when a COPY path found bytes it would misread

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
    mismatch = _encoding_mismatch(path, encoding)
    if mismatch is not None:
        return _Landing(rel, encoding, [], lambda: path.open("rb"), mismatch)
    codec = "utf-8-sig" if _codec(encoding) == "utf-8" else encoding
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


def _name_shown(name: str) -> str:
    """A header name as a message quotes it: repr, cut to VALUE_MAX characters."""
    text = repr(name)
    return text if len(text) <= VALUE_MAX else text[:VALUE_MAX] + f"... ({len(name)} characters)"


def _layout(header: list[str], tab: TableSpec, rel: str) -> _Layout:
    positions: dict[str, int] = {}
    extras: list[tuple[str, int]] = []
    seen: set[str] = set()
    contract_cols = {c.lower(): c for c in tab.column_names}
    for i, raw_name in enumerate(header):
        name = raw_name or f"column_{i + 1}"
        if "\x00" in name:
            # PostgreSQL text (and the extra columns' JSON keys) cannot hold NUL
            raise LoadError(f"{rel}: header column {i + 1} holds a NUL byte; rename the column")
        low = name.lower()
        if low in seen:
            raise LoadError(f"{rel}: column {_name_shown(name)} appears twice in the header")
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


@dataclass(frozen=True)
class _Mismatch:
    """A file whose bytes are in another encoding than its source declares."""

    declared: str
    detected: str  # a Python codec name
    how: str  # what gave it away

    @property
    def reason(self) -> str:
        return (
            f"declared {self.declared} but the file is {self.detected} ({self.how}); "
            f"re-export it as {self.declared} or change the source's encoding in the contract"
        )


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Encodings whose text the declared one reads unchanged (GB18030 extends GBK and GB2312).
_READS_AS = {
    "gb18030": {"gb18030", "gbk", "gb2312", "ascii"},
    "gbk": {"gbk", "gb2312", "ascii"},
}


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return name.lower()


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def _ascii_compatible(codec: str) -> bool:
    """True if CSV's structural bytes (quote, comma, CR, LF) mean the same in ``codec``."""
    try:
        return b'",\r\nazAZ09'.decode(codec) == '",\r\nazAZ09'
    except (UnicodeDecodeError, LookupError):
        return False


def _encoding_mismatch(path: Path, encoding: str) -> _Mismatch | None:
    """Whether the start of the file is in another encoding than ``encoding``.

    A byte-order mark names its encoding; NUL in every other byte is UTF-16 without one.
    Otherwise the declared encoding must decode the bytes strictly, and charset-normalizer
    (a maintained detector) breaks the ties a strict decode cannot: GB18030 decodes almost
    any bytes, so UTF-8 text where GB18030 is declared is caught by being valid UTF-8 that
    the detector reads as UTF-8. A declared encoding that fails on most lines with
    non-ASCII bytes, where the detector names another encoding that reads them all, is a
    mismatch too; a few bad lines are not (those rows are quarantined one by one).
    """
    from charset_normalizer import from_bytes

    declared = _codec(encoding)
    with path.open("rb") as fh:
        sample = fh.read(ENCODING_SAMPLE + 1)
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return None if name == declared else _Mismatch(encoding, name, "byte-order mark")
    if len(sample) > ENCODING_SAMPLE:  # whole lines only, not to cut a character
        cut = sample.rfind(b"\n", 0, ENCODING_SAMPLE)
        sample = sample[: cut + 1] if cut > 0 else sample[:ENCODING_SAMPLE]
    body = sample.rstrip(b"\x00")  # NUL padding is quarantined as such, not detected
    if len(body) >= 16:
        even, odd = body[0::2], body[1::2]
        for zeros, others, name in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
            if zeros.count(0) >= 0.9 * len(zeros) and others.count(0) <= 0.1 * len(others):
                return _Mismatch(encoding, name, "NUL in every other byte")
    if body.isascii():
        return None
    if declared != "utf-8" and _decodes(body, "utf-8"):
        best = from_bytes(body).best()
        if best is not None and _codec(best.encoding) == "utf-8":
            return _Mismatch(encoding, "utf-8", "valid UTF-8, detected as UTF-8")
    if _decodes(body, declared):
        return None
    lines = [line for line in body.split(b"\n") if not line.isascii()]
    bad = sum(not _decodes(line, declared) for line in lines)
    if bad < 2 or bad < 0.9 * len(lines):
        return None
    best = from_bytes(body).best()
    if best is None:
        return None
    detected = _codec(best.encoding)
    if (
        detected in _READS_AS.get(declared, {declared, "ascii"})
        or not _ascii_compatible(detected)
        or not _decodes(body, detected)
    ):
        return None
    return _Mismatch(
        encoding,
        detected,
        f"{bad} of {len(lines)} lines with non-ASCII bytes are not {encoding}; "
        f"detected as {detected}",
    )


class _RecordByRecord(Exception):
    """Raised inside a COPY to stop it: the file is to be read record by record."""


_CONTROL_BYTES = bytes(b for b in range(0x20) if b not in b"\t\r\n") + b"\x7f"


def _odd_bytes(data: bytes, at_end: bool) -> bool:
    """A control byte; a CR without LF (PostgreSQL reads it as a line end, an RFC 4180
    reader only inside quotes); a blank line; PostgreSQL's end-of-data marker \\. at the
    start of a line. Plain byte operations: they run at memory speed, a regex would not.
    Unless ``at_end``, a CR that ends ``data`` may be followed by LF in the next chunk."""
    if len(data.translate(None, _CONTROL_BYTES)) != len(data):
        return True
    crs = data if at_end or not data.endswith(b"\r") else data[:-1]
    if crs.count(b"\r") != crs.count(b"\r\n"):
        return True
    return b"\n\n" in data or b"\n\r\n" in data or b"\n\\." in data


# Fields as RFC 4180 has them: unquoted without any quote, or quoted from the field's start
# to its end ("" for a quote inside). PostgreSQL reads such fields as an RFC 4180 reader does.
_RFC_FIELDS = re.compile(rb'(?:[^"]++|(?<=[,\n])"(?:[^"]++|"")*+"(?=[,\r\n]))*+')
_OPEN_QUOTED = re.compile(rb'"(?:[^"]++|"")*+"?\Z')
_CARRY_MAX = 4 << 20  # a quoted field longer than this is left to the record reader


class _ByteCheck:
    """Fed a file's bytes chunk by chunk, says whether PostgreSQL's CSV reader would read
    them exactly as the record-by-record reader (Python's csv, strict) does: no control
    byte, no bare CR, no blank line, no end-of-data marker, every quote where RFC 4180
    puts it. False sends the file to the record reader, which is the rule for every row."""

    def __init__(self) -> None:
        self._tail = b""  # the last bytes seen, scanned again with what follows
        self._carry = b"\n"  # the byte before the unchecked quoting, then the unchecked part

    def feed(self, chunk: bytes) -> bool:
        data = self._tail + chunk  # a pattern across two chunks is seen with the second
        if _odd_bytes(data, at_end=False):
            return False
        self._tail = data[-2:]
        return self._quoting(chunk)

    def finish(self) -> bool:
        return not _odd_bytes(self._tail, at_end=True) and self._quoting(b"\n", final=True)

    def _quoting(self, chunk: bytes, final: bool = False) -> bool:
        buf = self._carry + chunk
        end = _RFC_FIELDS.match(buf, 1).end()
        if end == len(buf):
            self._carry = buf[-1:]
            return True
        # What is left must be a quoted field that the next chunk may close.
        if final or buf[end - 1 : end] not in (b",", b"\n") or len(buf) - end > _CARRY_MAX:
            return False
        if _OPEN_QUOTED.match(buf, end) is None:
            return False
        self._carry = buf[end - 1 :]
        return True
