"""The landing contract (``sources/contract.yml``) as small frozen dataclasses.

The loader reads it to create and type the ``raw`` tables, the documentation renders its
column tables from it, and code generating dbt source YAML reads it through the same API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from portrait.settings import DEFAULT_BUSINESS_TIMEZONE

CONTRACT_PATH = Path(__file__).resolve().parent / "contract.yml"
DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "landing-contract.md"

RAW_SCHEMA = "raw"

# Time zone in which a source's timestamps without a UTC offset are read (contract key
# ``timezone`` per source; an IANA name).
DEFAULT_TIMEZONE = DEFAULT_BUSINESS_TIMEZONE

# Precision and scale of a numeric column that declares none: values must round to less
# than 10^(precision - scale) in absolute value (see ColumnSpec.numeric_bound).
DEFAULT_NUMERIC = (14, 4)

# Dates and timestamps outside [first, end) are quarantined: a year 0024 or 9999 typo would
# otherwise stretch every feature series from the data's first to its last month.
DATE_RANGE = ("1900-01-01", "2100-01-01")

# A zone abbreviation as the contract's timezone_aliases names it (letters only).
_ABBREV_RE = re.compile(r"^[A-Za-z]{2,10}$")

# Source, table and column names become PostgreSQL identifiers (raw.<source>__<table>, its
# columns and row-number sequences) and dbt names: lower-case ASCII, so that no name needs
# quoting, none is folded, and none is cut at PostgreSQL's 63 bytes (a cut name would
# silently be another table's).
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
IDENTIFIER_MAX = 63
# The longest suffix the loader adds to a raw table's name (schema._row_seq, slot 3).
_ROW_SEQ_SUFFIX = len("__row_number_seq_3")

# What a personal column holds (contract key ``pii``, the same kinds as dbt's meta: pii).
PII_KINDS = ("name", "phone", "email", "address", "id_number")

# Contract type -> PostgreSQL column type of the raw table.
PG_TYPES: dict[str, str] = {
    "text": "text",
    "integer": "bigint",
    "numeric": "numeric",
    "date": "date",
    "timestamptz": "timestamptz",
    "boolean": "boolean",
}

# Python codec name -> PostgreSQL encoding name (for COPY ... ENCODING).
_PG_ENCODINGS: dict[str, str] = {
    "utf-8": "UTF8",
    "utf8": "UTF8",
    "gb18030": "GB18030",
    "gbk": "GBK",
    "latin-1": "LATIN1",
    "latin1": "LATIN1",
    "iso-8859-1": "LATIN1",
    "big5": "BIG5",
}

GENERATED_BEGIN = "<!-- BEGIN GENERATED: contract tables (portrait contract doc) -->"
GENERATED_END = "<!-- END GENERATED: contract tables -->"


class ContractError(ValueError):
    """contract.yml is malformed (unknown type, key column not declared, ...)."""


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    required: bool = False
    description: str = ""
    # numeric only: the SQL precision and scale the values must fit (None for other types)
    precision: int | None = None
    scale: int | None = None
    # the kind of personal information the column holds (one of PII_KINDS), or None
    pii: str | None = None
    # free text people wrote (notes, descriptions, comments): read by the text stage (texts/)
    free_text: bool = False

    @property
    def pg_type(self) -> str:
        return PG_TYPES[self.type]

    @property
    def declared_type(self) -> str:
        """The type as the contract declares it, e.g. ``numeric(14, 2)``."""
        if self.type == "numeric" and self.precision is not None:
            return f"numeric({self.precision}, {self.scale})"
        return self.type

    @property
    def numeric_bound(self) -> int | None:
        """Exponent e: a numeric value must round to less than 10^e in absolute value."""
        if self.type != "numeric" or self.precision is None:
            return None
        return self.precision - (self.scale or 0)


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def pii_columns(self) -> dict[str, str]:
        """Personal columns of the table: name -> kind (see PII_KINDS)."""
        return {c.name: c.pii for c in self.columns if c.pii}

    @property
    def free_text_columns(self) -> tuple[str, ...]:
        """Columns of free text people wrote (the text stage's documents)."""
        return tuple(c.name for c in self.columns if c.free_text)

    def column(self, name: str) -> ColumnSpec:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"table {self.name!r} has no column {name!r}")


@dataclass(frozen=True)
class SourceSpec:
    name: str
    encoding: str
    tables: tuple[TableSpec, ...]
    description: str = ""
    timezone: str = DEFAULT_TIMEZONE
    # zone abbreviation (upper case) -> IANA zone in which a timestamp carrying it is read
    timezone_aliases: tuple[tuple[str, str], ...] = ()

    @property
    def aliases(self) -> dict[str, str]:
        return dict(self.timezone_aliases)

    @property
    def table_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tables)

    @property
    def pg_encoding(self) -> str:
        return pg_encoding(self.encoding)

    def table(self, name: str) -> TableSpec:
        for tab in self.tables:
            if tab.name == name:
                return tab
        raise KeyError(f"source {self.name!r} has no table {name!r}")

    def has_table(self, name: str) -> bool:
        return name in self.table_names


@dataclass(frozen=True)
class Contract:
    version: int
    sources: tuple[SourceSpec, ...]

    @property
    def source_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.sources)

    def source(self, name: str) -> SourceSpec:
        for src in self.sources:
            if src.name == name:
                return src
        raise KeyError(f"the contract has no source {name!r}")

    def has_source(self, name: str) -> bool:
        return name in self.source_names

    def pii_columns(self) -> list[PiiColumn]:
        """Every personal column of every table, in contract order."""
        return [
            PiiColumn(src.name, tab.name, col.name, col.pii)
            for src in self.sources
            for tab in src.tables
            for col in tab.columns
            if col.pii
        ]


@dataclass(frozen=True)
class PiiColumn:
    """A personal column of a landing table (and of its raw table)."""

    source: str
    table: str
    column: str
    kind: str

    @property
    def raw_table(self) -> str:
        return raw_table_name(self.source, self.table)


def raw_table_name(source: str, table: str) -> str:
    """Name of the raw table (in schema ``raw``) a source table lands in."""
    return f"{source}__{table}"


def pg_encoding(codec: str) -> str:
    """PostgreSQL's name for a Python codec name (``gb18030`` -> ``GB18030``)."""
    key = codec.strip().lower()
    return _PG_ENCODINGS.get(key, key.upper().replace("-", "").replace("_", ""))


def _check_name(what: str, name: object, where: str = "", limit: int = IDENTIFIER_MAX) -> str:
    """``name`` if it is a safe identifier (NAME_RE, at most ``limit`` bytes), else
    ContractError naming it (cut, so that a hostile name does not flood the message)."""
    shown = repr(name) if len(repr(name)) <= 80 else repr(name)[:80] + "..."
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ContractError(
            f"{where}{what} name {shown} must be lower-case letters, digits and _ "
            "(starting with a letter)"
        )
    if len(name) > limit:
        raise ContractError(f"{where}{what} name {shown} is longer than {limit} characters")
    return name


def _free_text(where: str, ctype: str, cdata: dict) -> bool:
    flag = cdata.get("free_text", False)
    if not isinstance(flag, bool):
        raise ContractError(f"{where}: free_text must be true or false, not {flag!r}")
    if flag and ctype != "text":
        raise ContractError(f"{where}: a free_text column must be of type text")
    return flag


def _pii(where: str, cdata: dict) -> str | None:
    kind = cdata.get("pii")
    if kind is None:
        return None
    if kind not in PII_KINDS:
        raise ContractError(f"{where}: unknown pii kind {kind!r} (one of {', '.join(PII_KINDS)})")
    if cdata.get("type", "text") != "text":
        raise ContractError(f"{where}: a pii column must be of type text")
    return str(kind)


def parse_contract(data: dict) -> Contract:
    """Build a Contract from the parsed YAML, checking names, types and keys."""
    sources = []
    for sname, sdata in (data.get("sources") or {}).items():
        _check_name("source", sname)
        tables = []
        for tname, tdata in (sdata.get("tables") or {}).items():
            # raw.<source>__<table> and its row-number sequences must fit in 63 bytes
            room = IDENTIFIER_MAX - len(raw_table_name(sname, "")) - _ROW_SEQ_SUFFIX
            _check_name("table", tname, f"{sname}: ", limit=room)
            columns = []
            for cname, cdata in (tdata.get("columns") or {}).items():
                # (the typing statement names a column v_<column>)
                _check_name("column", cname, f"{sname}.{tname}: ", limit=IDENTIFIER_MAX - 2)
                cdata = cdata or {}
                ctype = cdata.get("type", "text")
                if ctype not in PG_TYPES:
                    raise ContractError(
                        f"{sname}.{tname}.{cname}: unknown type {ctype!r} "
                        f"(one of {', '.join(PG_TYPES)})"
                    )
                columns.append(
                    ColumnSpec(
                        name=cname,
                        type=ctype,
                        required=bool(cdata.get("required", False)),
                        description=str(cdata.get("description", "") or ""),
                        pii=_pii(f"{sname}.{tname}.{cname}", cdata),
                        free_text=_free_text(f"{sname}.{tname}.{cname}", ctype, cdata),
                        **_precision(f"{sname}.{tname}.{cname}", ctype, cdata),
                    )
                )
            key = tuple(tdata.get("key") or ())
            names = {c.name for c in columns}
            missing = [k for k in key if k not in names]
            if missing:
                raise ContractError(f"{sname}.{tname}: key column(s) {missing} are not declared")
            tables.append(TableSpec(name=tname, columns=tuple(columns), key=key))
        timezone = str(sdata.get("timezone") or DEFAULT_TIMEZONE)
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ContractError(
                f"{sname}: unknown timezone {timezone!r} (use an IANA name such as "
                f"{DEFAULT_TIMEZONE} or UTC)"
            ) from exc
        sources.append(
            SourceSpec(
                name=sname,
                encoding=str(sdata.get("encoding", "utf-8")),
                tables=tuple(tables),
                description=str(sdata.get("description", "") or ""),
                timezone=timezone,
                timezone_aliases=_aliases(sname, sdata.get("timezone_aliases")),
            )
        )
    return Contract(version=int(data.get("version", 1)), sources=tuple(sources))


def _precision(where: str, ctype: str, cdata: dict) -> dict:
    """precision/scale of a numeric column (default DEFAULT_NUMERIC), checked."""
    if ctype != "numeric":
        if "precision" in cdata or "scale" in cdata:
            raise ContractError(f"{where}: precision and scale are for numeric columns only")
        return {}
    precision = cdata.get("precision", DEFAULT_NUMERIC[0])
    scale = cdata.get("scale", DEFAULT_NUMERIC[1] if "precision" not in cdata else 0)
    if not (
        isinstance(precision, int)
        and isinstance(scale, int)
        and 1 <= precision <= 1000
        and 0 <= scale <= precision
    ):
        raise ContractError(
            f"{where}: precision {precision!r} and scale {scale!r} must be whole numbers "
            "with 1 <= precision <= 1000 and 0 <= scale <= precision"
        )
    return {"precision": precision, "scale": scale}


def _aliases(sname: str, data: object) -> tuple[tuple[str, str], ...]:
    """A source's timezone_aliases (abbreviation -> IANA zone), checked and upper-cased."""
    if not data:
        return ()
    if not isinstance(data, dict):
        raise ContractError(f"{sname}: timezone_aliases must map abbreviations to IANA zones")
    out: dict[str, str] = {}
    for abbrev, zone in data.items():
        if not isinstance(abbrev, str) or not _ABBREV_RE.match(abbrev):
            raise ContractError(
                f"{sname}: timezone_aliases key {abbrev!r} is not a zone abbreviation "
                "(2 to 10 letters, e.g. CST)"
            )
        try:
            ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ContractError(
                f"{sname}: timezone_aliases {abbrev}: unknown timezone {zone!r} (use an IANA "
                f"name such as {DEFAULT_TIMEZONE})"
            ) from exc
        if abbrev.upper() in out:
            raise ContractError(f"{sname}: timezone_aliases names {abbrev.upper()} twice")
        out[abbrev.upper()] = str(zone)
    return tuple(sorted(out.items()))


def load_contract(path: Path | str | None = None) -> Contract:
    """The contract in ``path`` (default: the repository's ``sources/contract.yml``)."""
    if path is None:
        return _default_contract()
    return parse_contract(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def _default_contract() -> Contract:
    return parse_contract(yaml.safe_load(CONTRACT_PATH.read_text(encoding="utf-8")))


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(contract: Contract | None = None) -> str:
    """The per-source column tables of the landing contract, as Markdown."""
    contract = contract or load_contract()
    out: list[str] = []
    for src in contract.sources:
        out.append(f"### `{src.name}` — encoding `{src.encoding}`, time zone `{src.timezone}`")
        out.append("")
        if src.timezone_aliases:
            shown = ", ".join(f"`{a}` → `{z}`" for a, z in src.timezone_aliases)
            out.append(f"Zone abbreviations read as: {shown}.")
            out.append("")
        if src.description:
            out.append(_md_cell(src.description))
            out.append("")
        for tab in src.tables:
            key = ", ".join(f"`{k}`" for k in tab.key) or "—"
            out.append(
                f"#### `{src.name}/<batch_id>/{tab.name}.csv` → "
                f"`{RAW_SCHEMA}.{raw_table_name(src.name, tab.name)}` (key: {key})"
            )
            out.append("")
            out.append("| column | type | required | personal | free text | description |")
            out.append("|---|---|---|---|---|---|")
            for col in tab.columns:
                req = "yes" if col.required else ""
                text = "yes" if col.free_text else ""
                out.append(
                    f"| `{col.name}` | {col.declared_type} | {req} | {col.pii or ''} | {text} | "
                    f"{_md_cell(col.description)} |"
                )
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def render_doc(doc_text: str, contract: Contract | None = None) -> str:
    """``doc_text`` with the generated section replaced by the current contract tables."""
    start = doc_text.find(GENERATED_BEGIN)
    end = doc_text.find(GENERATED_END)
    if start < 0 or end < start:
        raise ContractError(
            f"the document has no {GENERATED_BEGIN!r} ... {GENERATED_END!r} section"
        )
    head = doc_text[: start + len(GENERATED_BEGIN)]
    return f"{head}\n\n{render_markdown(contract)}\n{doc_text[end:]}"


def write_doc(path: Path = DOC_PATH) -> bool:
    """Regenerate the contract tables in the landing-contract document; True if it changed."""
    text = path.read_text(encoding="utf-8")
    new = render_doc(text)
    if new != text:
        path.write_text(new, encoding="utf-8")
        return True
    return False
