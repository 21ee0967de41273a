"""`portrait forget` on the tiny world after a full dbt build: the person is gone from every
table of every schema, business facts and counts stay, the erasure is logged, and a re-load
of the batch that brought them does not bring them back (issue 15, erasure on request)."""

from __future__ import annotations

import json

import psycopg
import pytest
from conftest import create_database, service_env_for
from conftest import run_dbt as dbt
from psycopg import sql

from sources.contract import load_contract
from sources.loader import ERASED_LINE, load_batch, load_landing
from texts import stage

pytestmark = pytest.mark.integration

TEXT_TYPES = ("text", "character varying", "character", "jsonb", "json", "ARRAY")


def text_columns(conn) -> list[tuple[str, str, str]]:
    """(schema, relation, column) of every text-like column of every table and view."""
    return conn.execute(
        "select c.table_schema, c.table_name, c.column_name from information_schema.columns c "
        "where c.table_schema not in ('pg_catalog', 'information_schema') "
        "and c.table_schema not like 'pg_toast%%' and c.data_type = any(%s) order by 1, 2, 3",
        (list(TEXT_TYPES),),
    ).fetchall()


def scan(dsn: str, needles: list[str]) -> list[tuple[str, str, str, int]]:
    """Every column holding one of ``needles`` (as a substring, any case), with its count."""
    patterns = ["%" + n.replace("%", r"\%").replace("_", r"\_") + "%" for n in needles]
    hits = []
    with psycopg.connect(dsn) as conn:
        for schema, rel, col in text_columns(conn):
            (n,) = conn.execute(
                sql.SQL("select count(*) from {} where {}::text ilike any(%s)").format(
                    sql.Identifier(schema, rel), sql.Identifier(col)
                ),
                (patterns,),
            ).fetchone()
            if n:
                hits.append((schema, rel, col, n))
    return hits


def counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        rels = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' and table_schema in "
            "('raw', 'identity', 'features', 'tags', 'ml', 'monitoring', 'marts', "
            "'marts_restricted') order by 1, 2"
        ).fetchall()
        return {
            f"{s}.{t}": conn.execute(
                sql.SQL("select count(*) from {}").format(sql.Identifier(s, t))
            ).fetchone()[0]
            for s, t in rels
        }


def business_checksums(dsn: str) -> dict[str, str]:
    """Per raw table, an md5 over its rows without the personal columns: the business facts."""
    contract = load_contract()
    out = {}
    with psycopg.connect(dsn) as conn:
        for src in contract.sources:
            for tab in src.tables:
                personal = set(tab.pii_columns) | set(tab.free_text_columns)
                keep = [c for c in tab.column_names if c not in personal]
                out[f"{src.name}__{tab.name}"] = conn.execute(
                    sql.SQL(
                        "select md5(coalesce(string_agg(r::text, '|' order by r::text), '')) "
                        "from (select {} from {}) as r"
                    ).format(
                        sql.SQL(", ").join(sql.Identifier(c) for c in keep),
                        sql.Identifier("raw", f"{src.name}__{tab.name}"),
                    )
                ).fetchone()[0]
    return out


def pick_contact(dsn: str) -> dict[str, str]:
    """A CRM contact with a name, phone and e-mail that no one else's name contains."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            """
            select contact_id, contact_name, phone, email, _batch_id from raw.crm__contacts as c
            where contact_name <> '' and phone ~ '^1[0-9]{10}$' and email like '%@%'
              and not exists (
                select from raw.crm__contacts o
                where o.contact_name like '%' || c.contact_name || '%'
                  and o.contact_id <> c.contact_id)
              and not exists (
                select from raw.lab__sample_requests o
                where o.contact_name like '%' || c.contact_name || '%'
                  and o.contact_name <> c.contact_name)
              and exists (select from marts_restricted.customer_contacts m where m.email = c.email)
            order by contact_id limit 1
            """
        ).fetchone()
    assert row is not None
    return dict(zip(("id", "name", "phone", "email", "batch"), row, strict=True))


def invoke(env: dict[str, str], args: list[str]):
    from typer.testing import CliRunner

    from portrait.cli import app
    from portrait.settings import get_settings

    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(app, args)
        finally:
            get_settings.cache_clear()


@pytest.fixture(scope="module")
def forgotten(pg_cluster, tiny_world, tmp_path_factory) -> dict:
    dsn = create_database(pg_cluster, "forget_world")
    load_landing(dsn, tiny_world / "landing", progress=False)
    local = tmp_path_factory.mktemp("forget_local")
    env = {
        k: v
        for k, v in service_env_for(dsn, local).items()
        if k.startswith(("PORTRAIT_", "DBT_", "AIRFLOW_CONN_"))
    }
    env["PORTRAIT_WAREHOUSE_URL"] = dsn
    env["PORTRAIT_LOCAL_DIR"] = str(local)
    dbt(["build"], {**service_env_for(dsn, local)})
    person = pick_contact(dsn)
    # the person's phone (written two ways) and e-mail in a rep's notes, read by the text stage
    phone = person["phone"]
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "update raw.crm__interactions set notes = coalesce(notes, '') || %s "
            "where interaction_id = (select min(interaction_id) from raw.crm__interactions)",
            (
                f" 联系人电话{phone}，备用 {phone[:3]}-{phone[3:7]}-{phone[7:]}，"
                "邮箱 " + person["email"],
            ),
        )
    dbt(["build", "--select", "source:crm.crm__interactions+"], {**service_env_for(dsn, local)})
    stage.run(dsn)
    dbt(["build", "--select", "source:texts+"], {**service_env_for(dsn, local)})
    needles = [person["name"], person["phone"], person["email"]]
    out = {"dsn": dsn, "person": person, "needles": needles, "env": env}
    out["present_before"] = scan(dsn, needles)
    out["counts_before"] = counts(dsn)
    out["business_before"] = business_checksums(dsn)
    with psycopg.connect(dsn) as conn:
        (out["contacts_rows"],) = conn.execute(
            "select count(*) from marts_restricted.customer_contacts "
            "where email = %s or phone = %s",
            (person["email"], person["phone"]),
        ).fetchone()
    out["dry_run"] = invoke(env, ["forget", "--contact", person["id"], "--dry-run"])
    out["after_dry_run"] = scan(dsn, needles)
    out["unknown"] = invoke(env, ["forget", "--contact", "nobody@nowhere.invalid"])
    out["hostile"] = invoke(env, ["forget", "--contact", "x'; create table pwned (); --"])
    out["forget"] = invoke(env, ["forget", "--contact", person["id"]])
    out["present_after"] = scan(dsn, needles)
    out["counts_after"] = counts(dsn)
    out["business_after"] = business_checksums(dsn)
    return out


def test_the_person_is_there_before(forgotten):
    schemas = {hit[0] for hit in forgotten["present_before"]}
    assert {"raw", "staging", "identity", "marts_restricted", "texts"} <= schemas, forgotten[
        "present_before"
    ]


def test_phones_and_e_mails_written_in_free_text_are_erased_and_read_again(forgotten):
    assert "text stage: " in forgotten["forget"].output
    with psycopg.connect(forgotten["dsn"]) as conn:
        (notes,) = conn.execute(
            "select notes from raw.crm__interactions "
            "where interaction_id = (select min(interaction_id) from raw.crm__interactions)"
        ).fetchone()
        (body,) = conn.execute(
            "select body from texts.documents where source_table = 'interactions' "
            "and body like '%%联系人电话%%'"
        ).fetchone()
    assert notes.count("[erased]") == 3
    assert "联系人电话[erased]，备用 [erased]，邮箱 [erased]" in notes
    assert "[erased]" in body


def test_dry_run_lists_what_would_change_and_changes_nothing(forgotten):
    result = forgotten["dry_run"]
    assert result.exit_code == 0, result.output
    assert "raw.crm__contacts: 1 rows" in result.output
    assert "dry run: nothing changed" in result.output
    assert forgotten["person"]["phone"] not in result.output  # masked on the console
    assert forgotten["after_dry_run"] == forgotten["present_before"]


def test_a_request_naming_no_one_or_hostile_is_refused_with_a_message(forgotten):
    for key in ("unknown", "hostile"):
        result = forgotten[key]
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        assert "failed: " in result.output
    with psycopg.connect(forgotten["dsn"]) as conn:
        assert conn.execute("select to_regclass('pwned')").fetchone()[0] is None


def test_forget_erases_and_rebuilds_with_progress(forgotten):
    result = forgotten["forget"]
    assert result.exit_code == 0, result.output
    assert "erasure 1:" in result.output and "downstream rebuilt" in result.output


def test_the_person_is_gone_from_every_column_of_every_schema(forgotten):
    assert forgotten["present_after"] == []


def test_business_facts_and_counts_stay(forgotten):
    assert forgotten["business_after"] == forgotten["business_before"]
    before, after = forgotten["counts_before"], forgotten["counts_after"]
    for name in before:
        if name.startswith(("raw.", "features.", "tags.", "ml.", "monitoring.", "marts")):
            if name in ("marts.customer_contacts", "marts_restricted.customer_contacts"):
                # the person's own row goes: nothing names them any more
                assert after[name] == before[name] - forgotten["contacts_rows"]
            else:
                assert after[name] == before[name], name
    assert after["identity.customer_ids"] == before["identity.customer_ids"]


def test_the_erasure_is_logged_without_clear_values(forgotten):
    with psycopg.connect(forgotten["dsn"]) as conn:
        rows = conn.execute(
            "select request_kind, identifiers, rows_changed, rebuilt_at is not null, "
            "requested_by from governance.erasures"
        ).fetchall()
        hashes = conn.execute("select kind, hash from governance.erased_identifiers").fetchall()
    assert len(rows) == 1
    kind, identifiers, changed, rebuilt, by = rows[0]
    assert (kind, rebuilt) == ("contact_id", True) and by
    assert identifiers >= 3 and changed["crm__contacts"] == 1
    assert {k for k, _ in hashes} == {"name", "phone", "email"}
    logged = json.dumps(rows, default=str) + json.dumps(hashes)
    for needle in forgotten["needles"]:
        assert needle not in logged


def test_reloading_the_batch_does_not_bring_the_person_back(forgotten, tiny_world):
    dsn, person = forgotten["dsn"], forgotten["person"]
    report = load_batch(dsn, tiny_world / "landing", "crm", person["batch"])
    assert report.replaced and report.loaded > 0
    hits = [h for h in scan(dsn, forgotten["needles"]) if h[0] in ("raw", "staging")]
    assert hits == []
    with psycopg.connect(dsn) as conn:
        (n,) = conn.execute(
            "select count(*) from raw.crm__contacts where contact_id = %s and contact_name is null",
            (person["id"],),
        ).fetchone()
    assert n == 1  # the record (a business fact: a contact existed) stays, nameless


def test_the_quarantine_forgets_lines_holding_an_erased_value(forgotten, tmp_path):
    dsn, person = forgotten["dsn"], forgotten["person"]
    folder = tmp_path / "service" / "z_forget"
    folder.mkdir(parents=True)
    (folder / "tickets.csv").write_text(
        "ticket_id,customer_name,contact_phone,contact_email,opened_at,satisfaction\n"
        f"TKF1,Acme,{person['phone']},{person['email']},2024-03-01T09:30:00+08:00,not a number\n",
        encoding="utf-8",
    )
    load_batch(dsn, tmp_path, "service", "z_forget")
    with psycopg.connect(dsn) as conn:
        lines = conn.execute(
            "select raw_line from raw._quarantine where batch_id = 'z_forget'"
        ).fetchall()
    assert lines == [(ERASED_LINE,)]


def test_dbt_selectors_name_the_sources_downstream():
    from portrait.cli.forget import dbt_selectors

    assert dbt_selectors(["crm__contacts", "lab__sample_requests"]) == [
        "source:crm.crm__contacts+",
        "source:lab.lab__sample_requests+",
    ]


def test_the_contract_names_the_personal_columns():
    kinds = {(c.raw_table, c.column): c.kind for c in load_contract().pii_columns()}
    assert kinds[("crm__contacts", "contact_name")] == "name"
    assert kinds[("crm__contacts", "phone")] == "phone"
    assert kinds[("service__tickets", "contact_email")] == "email"
    assert kinds[("erp__customers", "contact_person")] == "name"
    assert ("erp__orders", "total_amount_cny") not in kinds


def _write_csv(path, header: str, rows: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


def test_forget_erases_marketing_e_mails_and_keeps_the_audiences(pg_cluster, tmp_path):
    """A CRM contact whose e-mail a campaign was sent to (written another way): forgetting
    them nulls it in raw.marketing__audience_members, now and on a re-load, and leaves the
    campaigns' memberships (accounts, assignments) and activation's audiences (CIDs, no
    personal value) as they were."""
    from marketing.audiences import ensure_tables

    dsn = create_database(pg_cluster, "forget_marketing")
    landing = tmp_path / "landing"
    email, other = "Li.Na@Example.com", "wang.wei@example.com"
    _write_csv(
        landing / "crm" / "b1" / "contacts.csv",
        "contact_id,account_id,contact_name,title,phone,email,created_at",
        [
            f"CT1,A1,李娜,采购经理,13912345670,{email},2024-01-02T09:00:00+08:00",
            f"CT2,A2,王伟,工程师,13800001111,{other},2024-01-02T09:00:00+08:00",
        ],
    )
    _write_csv(
        landing / "marketing" / "b1" / "audience_members.csv",
        "campaign_id,account_id,assignment,sent_at,contact_email",
        [
            f"CMP1,A1,treatment,2024-03-01T10:00:00+08:00, {email.upper()}",
            f"CMP2,A1,holdout,,{email.lower()}",
            f"CMP1,A2,treatment,2024-03-01T10:00:00+08:00,{other}",
        ],
    )
    load_landing(dsn, landing, progress=False)
    with psycopg.connect(dsn) as conn:
        ensure_tables(conn)
        conn.execute(
            "insert into activation.audiences (audience_id, version, name, filter, "
            "holdout_share, created_by) values ('aud', 1, 'aud', '{}', 0.2, 'analyst')"
        )
        conn.execute(
            "insert into activation.audience_runs (run_id, audience_id, version, campaign_id, "
            "as_of, eligible, treatment, holdout, seed) "
            "values ('r1', 'aud', 1, 'CMP1', '2024-02-29', 2, 2, 0, 19)"
        )
        conn.execute(
            "insert into activation.audience_members values "
            "('r1', 'CMP1', 'CID1', 'treatment', 0.5), ('r1', 'CMP1', 'CID2', 'treatment', 0.7)"
        )
    members = (
        "select campaign_id, account_id, assignment, sent_at "
        "from raw.marketing__audience_members order by 1, 2"
    )
    activation = "select * from activation.audience_members order by run_id, cid"
    with psycopg.connect(dsn) as conn:
        members_before = conn.execute(members).fetchall()
        activation_before = conn.execute(activation).fetchall()
    assert {h[:2] for h in scan(dsn, [email])} >= {("raw", "marketing__audience_members")}

    local = tmp_path / "local"
    env = {
        k: v
        for k, v in service_env_for(dsn, local).items()
        if k.startswith(("PORTRAIT_", "DBT_", "AIRFLOW_CONN_"))
    }
    env.update(PORTRAIT_WAREHOUSE_URL=dsn, PORTRAIT_LOCAL_DIR=str(local))
    result = invoke(env, ["forget", "--contact", "CT1", "--no-rebuild"])
    assert result.exit_code == 0, result.output
    assert "raw.marketing__audience_members: 2 rows hold one" in result.output

    assert scan(dsn, [email, "李娜", "13912345670"]) == []
    with psycopg.connect(dsn) as conn:
        assert conn.execute(members).fetchall() == members_before
        assert conn.execute(activation).fetchall() == activation_before
        kept = conn.execute(
            "select contact_email from raw.marketing__audience_members where account_id = 'A2'"
        ).fetchall()
    assert kept == [(other,)]  # someone else's e-mail stays
    load_batch(dsn, landing, "marketing", "b1")
    assert scan(dsn, [email]) == []
