"""Which columns hold personal information: the classification declared in the dbt YAML
(`meta: {pii: <kind>}`) and a classifier that says which columns *look* personal, by name or by
contents, so a test can find every personal column nobody classified (docs/governance.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

PII_KINDS = ("name", "phone", "email", "address", "id_number")

# Column names that hold a person's data, by kind. Matched against the whole name split on `_`.
_NAME_PATTERNS: dict[str, re.Pattern] = {
    "phone": re.compile(r"(^|_)(phone|mobile|tel|telephone|fax|landline)(_|$)"),
    "email": re.compile(r"(^|_)(e?mail|email_address)(_|$)"),
    "name": re.compile(
        r"(^|_)(contact_name|contact_person|person_name|requester(_name)?|caller(_name)?|"
        r"legal_representative|full_name|first_name|last_name)(_|$)"
    ),
    "address": re.compile(r"(^|_)(address|addr|street)(_|$)"),
    "id_number": re.compile(r"(^|_)(id_card|idcard|id_number|identity_card|passport)(_|$)"),
}
# A column *about* a personal value (its kind, a comparison level, a count, a flag) holds none.
_NOT_A_VALUE = re.compile(
    r"(^(is|has|n|num|count)_)|(_(kind|level|levels|similarity|count|frequency|domain|source|"
    r"valid|is_valid|ok|type|id|rule|score|weight|match|matches|channel|org)$)|"
    r"(_interactions(_|$))"
)

# Contents that are personal: a mainland mobile, an e-mail address, a resident ID number.
VALUE_PATTERNS: dict[str, re.Pattern] = {
    "phone": re.compile(r"(?<!\d)(\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)"),
    "email": re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    "id_number": re.compile(r"(?<!\d)\d{6}(18|19|20)\d{2}(0[1-9]|1[0-2])\d{2}\d{3}[\dXx](?!\d)"),
}


def kind_by_name(column: str) -> str | None:
    """The PII kind a column's name suggests, or None (a name about a value, e.g. phone_kind)."""
    name = column.lower()
    if _NOT_A_VALUE.search(name):
        return None
    for kind, pattern in _NAME_PATTERNS.items():
        if pattern.search(name):
            return kind
    return None


def kind_by_value(value: object) -> str | None:
    """The PII kind a single value looks like (CN mobile, e-mail, 18-digit ID number), or None."""
    if not isinstance(value, str):
        return None
    for kind in ("id_number", "email", "phone"):
        if VALUE_PATTERNS[kind].search(value):
            return kind
    return None


def kind_by_contents(values: Iterable[object], min_share: float = 0.2) -> str | None:
    """The kind most sampled values look like, when at least `min_share` of the non-null ones do."""
    counts: dict[str, int] = {}
    total = 0
    for value in values:
        if value is None:
            continue
        total += 1
        kind = kind_by_value(value)
        if kind:
            counts[kind] = counts.get(kind, 0) + 1
    if not total or not counts:
        return None
    kind, hits = max(counts.items(), key=lambda kv: kv[1])
    return kind if hits / total >= min_share else None


@dataclass(frozen=True)
class Column:
    """A column of a dbt model or source as its YAML documents it."""

    resource: str  # model name, or `source:<source>.<table>`
    relation: str  # schema.table the warehouse holds it in (`?` when the YAML does not say)
    column: str
    pii: tuple[str, ...]  # declared kinds; () when not classified
    masked: bool
    description: str
    path: str  # YAML file, relative to the dbt project

    @property
    def is_classified(self) -> bool:
        return bool(self.pii)


def _kinds(meta: dict | None) -> tuple[str, ...]:
    value = (meta or {}).get("pii")
    if value in (None, False):
        return ()
    kinds = tuple(value) if isinstance(value, list) else (value,)
    unknown = [k for k in kinds if k not in PII_KINDS]
    if unknown:
        raise ValueError(f"meta.pii must be one of {', '.join(PII_KINDS)} (or a list): {unknown}")
    return kinds


def _folder_schemas(project_dir: Path) -> dict[str, str]:
    """`models/<folder>` -> the schema dbt_project.yml gives it (the deepest `+schema` wins)."""
    config = yaml.safe_load((project_dir / "dbt_project.yml").read_text())
    root = (config.get("models") or {}).get(config["name"], {})
    schemas: dict[str, str] = {}

    def walk(node: dict, prefix: str, schema: str | None) -> None:
        schema = node.get("+schema", schema)
        if schema:
            schemas[prefix] = schema
        for key, child in node.items():
            if not key.startswith("+") and isinstance(child, dict):
                walk(child, f"{prefix}/{key}", schema)

    walk(root, "models", None)
    return schemas


def _schema_of(path: Path, project_dir: Path, schemas: dict[str, str]) -> str:
    rel = path.parent.relative_to(project_dir).as_posix()
    while rel and rel not in schemas:
        rel = rel.rpartition("/")[0]
    return schemas.get(rel, "?")


def documented_columns(project_dir: Path) -> list[Column]:
    """Every column the YAML of the dbt project documents (models and sources), with its class."""
    project_dir = Path(project_dir)
    schemas = _folder_schemas(project_dir)
    out: list[Column] = []
    for path in sorted((project_dir / "models").rglob("_*.yml")):
        doc = yaml.safe_load(path.read_text()) or {}
        rel_path = path.relative_to(project_dir).as_posix()
        for model in doc.get("models") or []:
            alias = (model.get("config") or {}).get("alias", model["name"])
            schema = (model.get("config") or {}).get("schema") or _schema_of(
                path, project_dir, schemas
            )
            for col in model.get("columns") or []:
                out.append(
                    Column(
                        resource=model["name"],
                        relation=f"{schema}.{alias}",
                        column=col["name"],
                        pii=_kinds(col.get("meta")),
                        masked=bool((col.get("meta") or {}).get("masked")),
                        description=" ".join(str(col.get("description", "")).split()),
                        path=rel_path,
                    )
                )
        for source in doc.get("sources") or []:
            for table in source.get("tables") or []:
                for col in table.get("columns") or []:
                    out.append(
                        Column(
                            resource=f"source:{source['name']}.{table['name']}",
                            relation=f"{source.get('schema', source['name'])}.{table['name']}",
                            column=col["name"],
                            pii=_kinds(col.get("meta")),
                            masked=False,
                            description=" ".join(str(col.get("description", "")).split()),
                            path=rel_path,
                        )
                    )
    return out


def unclassified_by_name(columns: Iterable[Column]) -> list[str]:
    """`<resource>.<column> (looks like <kind>)` for each documented column whose name looks
    personal but carries no `meta: {pii: ...}`."""
    return [
        f"{c.resource}.{c.column} (looks like {kind}; {c.path})"
        for c in columns
        if not c.is_classified and (kind := kind_by_name(c.column))
    ]


def catalogue(columns: Iterable[Column]) -> list[Column]:
    """The classified columns, in the order of the warehouse (relation, then column)."""
    return sorted((c for c in columns if c.is_classified), key=lambda c: (c.relation, c.column))


def catalogue_markdown(columns: Iterable[Column]) -> str:
    """The PII catalogue as a Markdown table (docs/governance.md embeds it between markers)."""
    lines = [
        "| relation | column | kind | as stored | dbt resource |",
        "|---|---|---|---|---|",
    ]
    for c in catalogue(columns):
        stored = "masked" if c.masked else "clear"
        lines.append(
            f"| `{c.relation}` | `{c.column}` | {', '.join(c.pii)} | {stored} | `{c.resource}` |"
        )
    return "\n".join(lines) + "\n"


CATALOGUE_BEGIN = "<!-- pii-catalogue:begin (portrait governance catalog writes this) -->"
CATALOGUE_END = "<!-- pii-catalogue:end -->"


def with_catalogue(doc: str, table: str) -> str:
    """`doc` with the text between the catalogue markers replaced by `table`."""
    head, sep, rest = doc.partition(CATALOGUE_BEGIN)
    if not sep:
        raise ValueError(f"the document has no {CATALOGUE_BEGIN!r} marker")
    _, sep, tail = rest.partition(CATALOGUE_END)
    if not sep:
        raise ValueError(f"the document has no {CATALOGUE_END!r} marker")
    return f"{head}{CATALOGUE_BEGIN}\n\n{table}\n{CATALOGUE_END}{tail}"
