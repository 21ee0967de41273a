"""Who read clear personal data: pgaudit's lines in the server's CSV log and the rows the
profile service writes to `audit.access_log`, merged for `portrait audit`.

pgaudit logs every statement that reads a relation `portrait_auditor` holds a privilege on (its
object audit: the clear personal columns of `marts_restricted`), and every DDL and role change.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import psycopg

# PostgreSQL 15's csvlog columns (docs: "Using CSV-Format Log Output").
CSVLOG_COLUMNS = (
    "log_time", "user_name", "database_name", "process_id", "connection_from", "session_id",
    "session_line_num", "command_tag", "session_start_time", "virtual_transaction_id",
    "transaction_id", "error_severity", "sql_state_code", "message", "detail", "hint",
    "internal_query", "internal_query_pos", "context", "query", "query_pos", "location",
    "application_name", "backend_type", "leader_pid", "query_id",
)  # fmt: skip


def ensure_access_objects(conn: psycopg.Connection) -> None:
    """Create the group roles, `governance.staff_logins` and `audit.access_log` when missing,
    and pgaudit's extension when the server has it loaded (idempotent)."""
    conn.execute(resources.files("governance").joinpath("sql/access_objects.sql").read_text())
    loaded = conn.execute("select current_setting('shared_preload_libraries')").fetchone()[0]
    if "pgaudit" not in loaded:
        return
    if conn.execute("select 1 from pg_extension where extname = 'pgaudit'").fetchone():
        return
    try:
        with conn.transaction():
            conn.execute("create extension pgaudit")
    except psycopg.errors.InsufficientPrivilege as exc:
        # pgaudit is not a trusted extension: on an external warehouse whose migration login
        # is not a superuser, the DBA creates it once.
        raise PermissionError(
            f"the server loads pgaudit but database {conn.info.dbname} has no pgaudit "
            f"extension, and {conn.info.user} may not create it: ask a superuser to run "
            f"`create extension pgaudit;` in {conn.info.dbname}, then re-run the migration"
        ) from exc


@dataclass(frozen=True)
class Access:
    """One recorded access: who, when, what, from where."""

    at: dt.datetime
    login: str
    client: str
    action: str  # READ/WRITE/DDL/ROLE (pgaudit class) or the service's action
    relation: str
    columns: tuple[str, ...]
    statement: str
    source: str  # pgaudit or service
    cids: tuple[str, ...] = field(default=())


def _parse_audit_message(message: str) -> list[str] | None:
    """`AUDIT: OBJECT,1,1,READ,SELECT,TABLE,marts_restricted.x,<statement>,<parameter>` ->
    [audit_type, statement_id, substatement_id, class, command, object_type, object_name,
    statement, parameter], or None for a line that is not pgaudit's."""
    if not message.startswith("AUDIT: "):
        return None
    fields = next(csv.reader([message[len("AUDIT: ") :]]))
    return fields if len(fields) >= 8 else None


def _columns_named(statement: str, personal: Iterable[str]) -> tuple[str, ...]:
    """The personal columns a statement names (all of them for `*`): pgaudit logs relations, not
    columns, so this reads the statement text (best effort)."""
    personal = tuple(personal)
    if re.search(r"(^|[\s,(.])\*", statement):
        return personal
    words = set(re.findall(r"[a-z_][a-z0-9_]*", statement.lower()))
    return tuple(c for c in personal if c in words)


_CID = re.compile(r"\bCID[0-9A-F]{12}\b")


def _cids_named(statement: str) -> tuple[str, ...]:
    """The CIDs a statement names literally (a read of every row names none)."""
    return tuple(dict.fromkeys(_CID.findall(statement)))


def read_pgaudit_log(
    path: Path, personal_columns: dict[str, tuple[str, ...]] | None = None
) -> Iterator[Access]:
    """Every pgaudit line of a PostgreSQL CSV log, as accesses."""
    personal_columns = personal_columns or {}
    path = Path(path)
    if not path.exists():
        return
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        for row in csv.reader(fh):
            record = dict(zip(CSVLOG_COLUMNS, row, strict=False))
            fields = _parse_audit_message(record.get("message", ""))
            if fields is None:
                continue
            _, _, _, klass, command, _, obj, statement = fields[:8]
            yield Access(
                at=dt.datetime.fromisoformat(record["log_time"].replace(" UTC", "+00:00")),
                login=record["user_name"],
                client=" ".join(
                    p for p in (record.get("connection_from"), record.get("application_name")) if p
                ),
                action=f"{klass} {command}".strip(),
                relation=obj,
                columns=_columns_named(statement, personal_columns.get(obj, ())),
                statement=statement,
                source="pgaudit",
                cids=_cids_named(statement),
            )


def read_service_log(conn: psycopg.Connection, since: dt.datetime | None) -> Iterator[Access]:
    """The rows the profile service wrote to `audit.access_log` (none when the table is missing)."""
    if conn.execute("select to_regclass('audit.access_log')").fetchone()[0] is None:
        return
    rows = conn.execute(
        "select at, login, coalesce(client, ''), action, coalesce(cids, '{}'),"
        " coalesce(columns, '{}'), coalesce(detail::text, '') from audit.access_log"
        " where %s::timestamptz is null or at >= %s::timestamptz order by at",
        (since, since),
    ).fetchall()
    for at, login, client, action, cids, columns, detail in rows:
        yield Access(
            at=at, login=login, client=client, action=action, relation="service",
            columns=tuple(columns), statement=detail, source="service", cids=tuple(cids),
        )  # fmt: skip


def recent_access(
    log_path: Path | None,
    conn: psycopg.Connection | None = None,
    since: dt.datetime | None = None,
    user: str | None = None,
    personal_columns: dict[str, tuple[str, ...]] | None = None,
    reads_only: bool = True,
) -> list[Access]:
    """Accesses from the server log and the service's rows, oldest first; `reads_only` keeps
    reads and exports (pgaudit's READ class and every service row), not DDL or role changes."""
    found: list[Access] = []
    if log_path is not None:
        found.extend(read_pgaudit_log(log_path, personal_columns))
    if conn is not None:
        found.extend(read_service_log(conn, since))
    return sorted(
        (
            a
            for a in found
            if (since is None or a.at >= since)
            and (user is None or a.login == user)
            and (not reads_only or a.source == "service" or a.action.startswith("READ"))
        ),
        key=lambda a: a.at,
    )
