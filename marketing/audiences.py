"""Audiences for marketing campaigns (issue 19): a saved, versioned customer filter, materialised
per campaign with a reproducible random holdout, exported for the CRM / mailing tool and
recorded in `activation.*` so a later analysis knows who was eligible, treated and held out.

- `define` stores the filter as the profile API's query parameters; a new version only when the
  filter or the holdout share changes.
- `materialise` reads the eligible CIDs from `marts.mart_customer_profile` with the filter
  language's WHERE builder (marketing.filters) and assigns each new member by its bucket:
  sha256(f"{seed}:{campaign_id}:{cid}")'s first 8 bytes / 2**64, held out iff below the share.
  The bucket depends on nothing but those three values, so it is the same on every machine and
  run and independent of who else is eligible; a campaign keeps a customer's first assignment
  (a customer held out once is never exported as treated for that campaign).
- `export` writes a run's treated members (the holdout only when asked, labelled so) as CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import IO, Any

import psycopg
import yaml
from psycopg import sql
from psycopg.rows import dict_row

from marketing.filters import PROFILE, CustomerFilter, validate_filter, where_clause

SCHEMA = "activation"
DDL_FILE = Path(__file__).with_name("audiences.sql")
DEFAULTS_FILE = Path(__file__).with_name("audiences.yml")
DEFAULT_SEED = 19
DEFAULT_HOLDOUT_SHARE = 0.2
EXPORT_COLUMNS = (
    "cid", "customer_name", "owner_sales", "crm_account_ids", "campaign_id", "assignment",
)  # fmt: skip
ASSIGNMENTS = ("treatment", "holdout")
COPY_MEMBERS = (
    "copy activation.audience_members (run_id, campaign_id, cid, assignment, bucket) from stdin"
)


class AudienceError(ValueError):
    """A request about audiences that cannot be served (unknown audience or run, a campaign
    already bound to another audience or seed, a share out of range)."""


class UnknownAudience(AudienceError):
    """No such audience, version, run or campaign."""


# --- the holdout: pure -----------------------------------------------------------------------


def bucket(seed: int, campaign_id: str, cid: str) -> float:
    """The member's place in [0, 1): the first 8 bytes of sha256("seed:campaign:cid") as an
    unsigned integer over 2**64. Stable across runs and machines, independent of other members."""
    digest = hashlib.sha256(f"{seed}:{campaign_id}:{cid}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assignment(bucket_value: float, holdout_share: float) -> str:
    """'holdout' iff the bucket is below the share, else 'treatment'."""
    return "holdout" if bucket_value < holdout_share else "treatment"


def assign(
    cids: list[str],
    campaign_id: str,
    seed: int,
    holdout_share: float,
    kept: dict[str, tuple[str, float]] | None = None,
) -> list[tuple[str, str, float]]:
    """(cid, assignment, bucket) per eligible CID: the campaign's earlier assignment where
    `kept` has one, else by the bucket against the share."""
    kept = kept or {}
    out = []
    for cid in cids:
        if cid in kept:
            out.append((cid, *kept[cid]))
        else:
            b = bucket(seed, campaign_id, cid)
            out.append((cid, assignment(b, holdout_share), b))
    return out


def run_id_for(campaign_id: str, version: int, as_of: dt.date) -> str:
    """A run is a campaign, an audience version and a profile snapshot: the same three give the
    same run (re-materialising replaces it), a new snapshot or version a new one."""
    return f"{campaign_id}:v{version}:{as_of.isoformat()}"


# --- the shipped audiences ---------------------------------------------------------------------


@cache
def shipped_audiences() -> tuple[dict[str, Any], ...]:
    """audiences.yml's audiences (id, name, description, filter, holdout_share)."""
    return tuple(yaml.safe_load(DEFAULTS_FILE.read_text())["audiences"])


# --- the warehouse -----------------------------------------------------------------------------


def tables_exist(conn: psycopg.Connection) -> bool:
    (found,) = conn.execute(
        "select to_regclass('activation.audiences') is not null"
        " and to_regclass('activation.audience_members') is not null"
    ).fetchone()
    return bool(found)


def ensure_tables(conn: psycopg.Connection) -> None:
    """Create activation's tables (audiences.sql) as their owner, portrait_ml; the schema is
    the role migration's. Idempotent."""
    if conn.execute("select to_regnamespace(%s)", (SCHEMA,)).fetchone()[0] is None:
        raise RuntimeError(
            f"schema {SCHEMA} does not exist: run the role migration first "
            "(`portrait warehouse up`, or any DAG's `roles` task)."
        )
    conn.execute("select pg_advisory_xact_lock(hashtext('portrait.activation.ddl'))")
    # a login that may act as portrait_ml (a superuser's one-login deployment) creates them as
    # portrait_ml all the same, so the owner never depends on who ran it first
    (may,) = conn.execute(
        "select current_user <> 'portrait_ml'"
        " and pg_has_role(current_user, 'portrait_ml', 'member')"
    ).fetchone()
    if may:
        conn.execute("set local role portrait_ml")
    conn.execute(DDL_FILE.read_text())
    if may:
        conn.execute("reset role")


def _require_tables(conn: psycopg.Connection) -> None:
    if not tables_exist(conn):
        raise RuntimeError(
            "activation's tables do not exist yet: a DAG's `roles` task or `portrait audience "
            "list` creates them (as portrait_ml)"
        )


def _latest(conn: psycopg.Connection, audience_id: str) -> dict | None:
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            "select * from activation.audiences where audience_id = %s"
            " order by version desc limit 1",
            (audience_id,),
        )
        .fetchone()
    )


def _share(value: float | Decimal) -> Decimal:
    share = Decimal(str(value)).quantize(Decimal("0.0001"))
    if not Decimal(0) <= share < Decimal(1):
        raise AudienceError(f"holdout_share is in [0, 1), not {value}")
    return share


def define(
    conn: psycopg.Connection,
    audience_id: str,
    name: str,
    params: dict[str, Any],
    holdout_share: float = DEFAULT_HOLDOUT_SHARE,
    description: str | None = None,
    by: str = "portrait",
    *,
    validate: bool = True,
) -> int:
    """Save an audience: its filter (query parameters, checked by the filter language and, with
    `validate`, against the warehouse's facet values and tag catalogue) and holdout share.
    Returns the version: the latest when neither the filter nor the share changed (a new name
    or description alone makes no version), else a new one."""
    _require_tables(conn)
    if not audience_id or len(audience_id) > 64:
        raise AudienceError("an audience id has 1 to 64 characters")
    flt = CustomerFilter.from_params(params)
    if validate:
        validate_filter(conn, flt)
    stored, share = flt.to_params(), _share(holdout_share)
    conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"activation:{audience_id}",))
    latest = _latest(conn, audience_id)
    if latest and latest["filter"] == stored and latest["holdout_share"] == share:
        return latest["version"]
    version = (latest["version"] if latest else 0) + 1
    conn.execute(
        "insert into activation.audiences"
        " (audience_id, version, name, description, filter, holdout_share, created_by)"
        " values (%s, %s, %s, %s, %s::jsonb, %s, %s)",
        (audience_id, version, name, description, json.dumps(stored), share, by),
    )
    return version


def ensure_shipped(conn: psycopg.Connection) -> list[str]:
    """Define each shipped audience (audiences.yml) this warehouse has never had; returns
    those defined. An audience redefined since keeps its own versions."""
    _require_tables(conn)
    have = {r[0] for r in conn.execute("select distinct audience_id from activation.audiences")}
    added = []
    for a in shipped_audiences():
        if a["audience_id"] not in have:
            # not checked against the warehouse's values: a tag no customer carries yet is
            # still a valid audience (an empty one)
            define(conn, a["audience_id"], a["name"], a["filter"], a["holdout_share"],
                   a.get("description"), by="portrait", validate=False)  # fmt: skip
            added.append(a["audience_id"])
    return added


def scheduled_campaign_id(audience_id: str, as_of: dt.date) -> str:
    """The campaign a scheduled audience is materialised for in `as_of`'s month."""
    return f"{audience_id}-{as_of:%Y%m}"


def materialise_scheduled(conn: psycopg.Connection, as_of: dt.date) -> list[dict]:
    """Materialise every shipped audience with ``schedule: monthly`` (audiences.yml) for its
    campaign of `as_of`'s month (``scheduled_campaign_id``): a standing programme gets one
    campaign a month, a re-run the same day replaces its run, a later day keeps every
    customer's first assignment. An empty profile mart (nothing built yet) is an error."""
    _require_tables(conn)
    return [
        materialise(conn, a["audience_id"], scheduled_campaign_id(a["audience_id"], as_of))
        for a in shipped_audiences()
        if a.get("schedule") == "monthly"
    ]


def _jsonable(row: dict) -> dict:
    out = {}
    for k, v in row.items():
        if isinstance(v, dt.date | dt.datetime):
            out[k] = v.isoformat()
        elif isinstance(v, Decimal):
            out[k] = float(v)
        else:
            out[k] = v
    return out


def list_audiences(conn: psycopg.Connection) -> list[dict]:
    """Each audience's latest version with how many runs and campaigns it has had."""
    ensure_shipped(conn)
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(
            "select distinct on (a.audience_id) a.audience_id, a.version, a.name, a.description,"
            " a.filter, a.holdout_share, a.created_at, a.created_by,"
            " (select count(*) from activation.audience_runs as r"
            "  where r.audience_id = a.audience_id) as runs,"
            " (select count(distinct campaign_id) from activation.audience_runs as r"
            "  where r.audience_id = a.audience_id) as campaigns"
            " from activation.audiences as a order by a.audience_id, a.version desc"
        )
        .fetchall()
    )
    return [_jsonable(r) for r in rows]


def get_audience(conn: psycopg.Connection, audience_id: str) -> dict | None:
    """An audience's versions (newest first) and runs (newest first); None when unknown."""
    ensure_shipped(conn)
    cur = conn.cursor(row_factory=dict_row)
    versions = cur.execute(
        "select version, name, description, filter, holdout_share, created_at, created_by"
        " from activation.audiences where audience_id = %s order by version desc",
        (audience_id,),
    ).fetchall()
    if not versions:
        return None
    runs = cur.execute(
        "select * from activation.audience_runs where audience_id = %s"
        " order by materialised_at desc, run_id",
        (audience_id,),
    ).fetchall()
    return {
        "audience_id": audience_id,
        "versions": [_jsonable(v) for v in versions],
        "runs": [_jsonable(r) for r in runs],
    }


def materialise(
    conn: psycopg.Connection,
    audience_id: str,
    campaign_id: str,
    *,
    version: int | None = None,
    seed: int | None = None,
) -> dict:
    """Materialise an audience version (default: the latest) for a campaign on the profile
    mart's current snapshot: eligible CIDs by the filter, each assigned by its bucket unless
    the campaign assigned it before. One transaction; the same campaign, version and snapshot
    replace their run (same rows). A campaign belongs to one audience and one seed (the first
    run's; `seed` None: that one, else DEFAULT_SEED). Returns the run's summary."""
    ensure_shipped(conn)
    if not campaign_id or len(campaign_id) > 100:
        raise AudienceError("a campaign id has 1 to 100 characters")
    cur = conn.cursor(row_factory=dict_row)
    if version is None:
        audience = _latest(conn, audience_id)
    else:
        audience = cur.execute(
            "select * from activation.audiences where audience_id = %s and version = %s",
            (audience_id, version),
        ).fetchone()
    if audience is None:
        raise UnknownAudience(f"no audience {audience_id}" + (f" v{version}" if version else ""))
    conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"activation:{campaign_id}",))
    before = cur.execute(
        "select audience_id, seed from activation.audience_runs where campaign_id = %s"
        " order by materialised_at limit 1",
        (campaign_id,),
    ).fetchone()
    if before and before["audience_id"] != audience_id:
        raise AudienceError(
            f"campaign {campaign_id} is audience {before['audience_id']}'s, not {audience_id}'s"
        )
    if before and seed is not None and seed != before["seed"]:
        raise AudienceError(f"campaign {campaign_id} was assigned with seed {before['seed']}")
    seed = before["seed"] if before else (DEFAULT_SEED if seed is None else seed)
    (as_of,) = conn.execute(
        sql.SQL("select max(features_as_of_date) from {}").format(sql.SQL(PROFILE))
    ).fetchone()
    if as_of is None:
        raise AudienceError(f"{PROFILE} is empty: build the marts first")
    where, params = where_clause(CustomerFilter.from_params(audience["filter"]))
    eligible = [
        r[0]
        for r in conn.execute(
            sql.SQL("select cid from {} where {} order by cid").format(sql.SQL(PROFILE), where),
            params,
        )
    ]
    kept = {
        cid: (kind, b)
        for cid, kind, b in conn.execute(
            "select distinct on (cid) cid, assignment, bucket from activation.audience_members"
            " where campaign_id = %s order by cid, run_id",
            (campaign_id,),
        )
    }
    members = assign(eligible, campaign_id, seed, float(audience["holdout_share"]), kept)
    run_id = run_id_for(campaign_id, audience["version"], as_of)
    held = sum(1 for _, kind, _ in members if kind == "holdout")
    conn.execute(
        "insert into activation.audience_runs (run_id, audience_id, version, campaign_id, as_of,"
        " eligible, treatment, holdout, seed) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " on conflict (run_id) do update set eligible = excluded.eligible,"
        " treatment = excluded.treatment, holdout = excluded.holdout",
        (run_id, audience_id, audience["version"], campaign_id, as_of,
         len(members), len(members) - held, held, seed),
    )  # fmt: skip
    conn.execute("delete from activation.audience_members where run_id = %s", (run_id,))
    with conn.cursor().copy(COPY_MEMBERS) as copy:
        for cid, kind, b in members:
            copy.write_row((run_id, campaign_id, cid, kind, b))
    run = cur.execute("select * from activation.audience_runs where run_id = %s", (run_id,))
    return _jsonable(run.fetchone())


def resolve_run(conn: psycopg.Connection, run_or_campaign: str) -> dict:
    """A run by its id, else a campaign's latest run."""
    _require_tables(conn)
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(
            "select * from activation.audience_runs where run_id = %s or campaign_id = %s"
            " order by (run_id = %s) desc, as_of desc, version desc, materialised_at desc limit 1",
            (run_or_campaign, run_or_campaign, run_or_campaign),
        )
        .fetchone()
    )
    if row is None:
        raise UnknownAudience(f"no run or campaign {run_or_campaign}")
    return row


EXPORT_SQL = """
select m.cid, p.customer_name, p.owner_sales,
       (select string_agg(s.source_record_id, ';' order by s.source_record_id)
        from marts.mart_customer_source_ids as s
        where s.cid = m.cid and s.source_system = 'crm' and s.source_table = 'accounts')
         as crm_account_ids,
       m.campaign_id, m.assignment
from activation.audience_members as m
left join marts.mart_customer_profile as p on p.cid = m.cid
where m.run_id = %s and m.assignment = any(%s)
order by m.assignment desc, m.cid
"""


def export_rows(
    conn: psycopg.Connection, run_id: str, *, include_holdout: bool = False
) -> Iterator[tuple]:
    """A run's members as EXPORT_COLUMNS tuples: the treated only, or (include_holdout) the
    held-out too, each labelled with its own assignment."""
    kinds = list(ASSIGNMENTS) if include_holdout else ["treatment"]
    yield from conn.execute(EXPORT_SQL, (run_id, kinds))


def export(
    conn: psycopg.Connection, run_or_campaign: str, fh: IO[str], *, include_holdout: bool = False
) -> dict:
    """Write a run's (or a campaign's latest run's) members as CSV for the mailing tool; by
    default the treated only, never a held-out customer labelled treated. Returns the run id,
    the rows written and their CIDs (for the caller's audit)."""
    run = resolve_run(conn, run_or_campaign)
    writer = csv.writer(fh)
    writer.writerow(EXPORT_COLUMNS)
    cids = []
    for row in export_rows(conn, run["run_id"], include_holdout=include_holdout):
        writer.writerow(row)
        cids.append(row[0])
    return {"run_id": run["run_id"], "campaign_id": run["campaign_id"], "rows": len(cids),
            "cids": cids}  # fmt: skip
