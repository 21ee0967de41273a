"""Audiences (issue 19) on the session's warehouse built by both DAGs (service fixture): define,
materialise (idempotent, assignments kept across re-definitions), export without the holdout,
and the API's audience endpoints over HTTP with their roles and audit rows."""

from __future__ import annotations

import csv
import io

import psycopg
import pytest

from marketing import audiences

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def members(dsn: str, run_id: str) -> dict[str, tuple[str, float]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select cid, assignment, bucket from activation.audience_members where run_id = %s",
            (run_id,),
        ).fetchall()
    return {cid: (kind, b) for cid, kind, b in rows}


def test_the_dags_roles_task_created_activations_tables_owned_by_ml(service):
    with psycopg.connect(service.superuser_dsn) as conn:
        owners = dict(conn.execute(
            "select tablename, tableowner from pg_tables where schemaname = 'activation'"
        ).fetchall())  # fmt: skip
        analysts_read = conn.execute(
            "select has_table_privilege('portrait_analysts', 'activation.audience_members',"
            " 'select'), has_table_privilege('portrait_sales', 'activation.audience_members',"
            " 'select')"
        ).fetchone()
    assert owners == dict.fromkeys(
        ["audiences", "audience_runs", "audience_members", "campaign_evaluations"], "portrait_ml"
    )
    assert analysts_read == (True, False)


def test_materialising_twice_gives_the_same_run_and_members(service):
    with psycopg.connect(service.service_dsn) as conn:
        version = audiences.define(conn, "t_everyone", "Everyone", {}, 0.3, by="test")
        assert audiences.define(conn, "t_everyone", "Everyone, renamed", {}, 0.3) == version
        first = audiences.materialise(conn, "t_everyone", "c-twice")
    before = members(service.service_dsn, first["run_id"])
    with psycopg.connect(service.service_dsn) as conn:
        second = audiences.materialise(conn, "t_everyone", "c-twice")
        (customers,) = conn.execute("select count(*) from marts.mart_customer_profile").fetchone()
    assert second == first  # materialised_at included: the run is the same row
    assert members(service.service_dsn, first["run_id"]) == before
    assert first["eligible"] == len(before) == customers
    held = sum(1 for kind, _ in before.values() if kind == "holdout")
    assert first["holdout"] == held and first["treatment"] == customers - held
    assert (
        0.3 * customers - 4 * (customers * 0.21) ** 0.5
        < held
        < 0.3 * customers + 4 * (customers * 0.21) ** 0.5
    )
    assert all((kind == "holdout") == (b < 0.3) for kind, b in before.values())


def test_a_redefinition_keeps_the_campaigns_assignments(service):
    with psycopg.connect(service.service_dsn) as conn:
        (stage,) = conn.execute(
            "select lifecycle_stage from marts.mart_customer_profile where lifecycle_stage"
            " is not null group by 1 order by count(*) desc limit 1"
        ).fetchone()
        assert audiences.define(conn, "t_redefined", "Redefined", {}, 0.1) == 1
        v1 = audiences.materialise(conn, "t_redefined", "c-redef")
        # a larger holdout and a narrower filter: a new version, a new run
        assert audiences.define(conn, "t_redefined", "Redefined", {}, 0.6) == 2
        v2 = audiences.materialise(conn, "t_redefined", "c-redef")
        v3_version = audiences.define(
            conn, "t_redefined", "Redefined", {"lifecycle_stage": stage}, 0.6
        )
        v3 = audiences.materialise(conn, "t_redefined", "c-redef")
        with pytest.raises(audiences.AudienceError, match="t_redefined"):
            audiences.materialise(conn, "t_everyone", "c-redef")  # another audience's campaign
        with pytest.raises(audiences.AudienceError, match="seed"):
            audiences.materialise(conn, "t_redefined", "c-redef", seed=1)
    assert v3_version == 3 and len({v1["run_id"], v2["run_id"], v3["run_id"]}) == 3
    one, two, three = (members(service.service_dsn, r["run_id"]) for r in (v1, v2, v3))
    assert set(two) == set(one) and two == one  # same people, same assignments, share or not
    assert set(three) < set(one) and all(three[cid] == one[cid] for cid in three)
    # a fresh campaign on version 2 holds out its 60%
    with psycopg.connect(service.service_dsn) as conn:
        fresh = audiences.materialise(conn, "t_redefined", "c-fresh", version=2)
    assert fresh["holdout"] > v1["holdout"] * 3


def test_the_export_holds_no_held_out_customer(service):
    with psycopg.connect(service.service_dsn) as conn:
        run = audiences.resolve_run(conn, "c-twice")
        treated_csv, all_csv = io.StringIO(), io.StringIO()
        written = audiences.export(conn, "c-twice", treated_csv)
        audiences.export(conn, run["run_id"], all_csv, include_holdout=True)
    kinds = members(service.service_dsn, run["run_id"])
    held = {cid for cid, (kind, _) in kinds.items() if kind == "holdout"}
    rows = list(csv.DictReader(io.StringIO(treated_csv.getvalue())))
    assert list(rows[0]) == list(audiences.EXPORT_COLUMNS)
    assert len(rows) == written["rows"] == run["treatment"] > 0
    assert not {r["cid"] for r in rows} & held
    assert {r["assignment"] for r in rows} == {"treatment"}
    assert {r["campaign_id"] for r in rows} == {"c-twice"}
    assert any(r["crm_account_ids"] for r in rows) and all(r["customer_name"] for r in rows)
    both = list(csv.DictReader(io.StringIO(all_csv.getvalue())))
    assert {r["cid"] for r in both if r["assignment"] == "holdout"} == held
    assert len(both) == run["eligible"]


def test_the_api_lists_materialises_and_exports_for_marketing_and_admin(service):
    c = service.client("marketing")
    listed = c.get("/api/v1/audiences")
    assert listed.status_code == 200, listed.text
    ids = {a["audience_id"] for a in listed.json()}
    assert {"rd_performance_report", "project_buyers_preseason", "churn_retention"} <= ids
    one = c.get("/api/v1/audiences/churn_retention").json()
    assert one["versions"][0]["filter"] == {"churn_min": 0.6}
    assert c.get("/api/v1/audiences/no_such").status_code == 404

    ran = c.post("/api/v1/audiences/t_everyone/runs", params={"campaign_id": "api-c1"})
    assert ran.status_code == 200, ran.text
    run = ran.json()
    again = c.post("/api/v1/audiences/t_everyone/runs", params={"campaign_id": "api-c1"}).json()
    assert again == run
    assert c.post("/api/v1/audiences/churn_retention/runs",
                  params={"campaign_id": "api-c1"}).status_code == 409  # fmt: skip
    assert c.post("/api/v1/audiences/t_everyone/runs",
                  params={"campaign_id": "bad id;"}).status_code == 422  # fmt: skip
    retention = c.post("/api/v1/audiences/churn_retention/runs", params={"campaign_id": "api-c2"})
    assert retention.status_code == 200, retention.text

    exported = service.client("admin").get(f"/api/v1/audiences/runs/{run['run_id']}/members.csv")
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    held = {cid for cid, (kind, _) in members(service.service_dsn, run["run_id"]).items()
            if kind == "holdout"}  # fmt: skip
    assert len(rows) == run["treatment"] and not {r["cid"] for r in rows} & held
    assert c.get("/api/v1/audiences/runs/api-c1/members.csv").status_code == 404

    with psycopg.connect(service.superuser_dsn) as conn:
        logged = dict(conn.execute(
            "select action, count(*) from audit.access_log where action like 'audience%%'"
            " group by 1"
        ).fetchall())  # fmt: skip
        (export_cids,) = conn.execute(
            "select cids from audit.access_log where action = 'audience-export'"
            " order by at desc limit 1"
        ).fetchone()
    assert {"audiences", "audience", "audience-run", "audience-export"} <= set(logged)
    assert len(export_cids) == len(rows)


@pytest.mark.parametrize("role", ["sales", "analyst", "crm-sync"])
def test_roles_without_audiences_are_refused(service, role):
    c = service.client(role)
    assert c.get("/api/v1/audiences").status_code == 403
    assert c.get("/api/v1/audiences/churn_retention").status_code == 403
    refused = c.post("/api/v1/audiences/churn_retention/runs", params={"campaign_id": "x1"})
    assert refused.status_code == 403
    assert c.get("/api/v1/audiences/runs/x1:v1:2024-01-01/members.csv").status_code == 403
