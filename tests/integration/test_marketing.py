"""The marketing loop in the warehouse, from landing campaign files to the A/B report: a
simulated company with campaigns (holdouts, a known effect) loaded and built; the members
reconcile with the landed audience; the A/B mart's effect and interval are the ones computed
from its members; conversions match the landed ERP orders of the simulator's companies; the
report pages are written with a verdict per campaign."""

import csv
import datetime as dt
import math
from pathlib import Path

import numpy as np
import psycopg
import pytest
from conftest import run_dbt as dbt
from conftest import service_env_for

from marketing.report import write_reports
from sources.loader import load_landing

pytestmark = pytest.mark.integration
SELECTION = ["build", "-s", "+path:models/marts/marketing", "--indirect-selection", "cautious"]
Z90 = 1.6448536269514722


@pytest.fixture(scope="module")
def marketing_warehouse(pg_cluster, tmp_path_factory):
    from conftest import create_database

    from sources.simulator import simulate

    world = tmp_path_factory.mktemp("marketing_world")
    simulate(world, scale=3, seed=5, months=24, marketing=True, oracle_replays=2, progress=False)
    dsn = create_database(pg_cluster, "marketing_loop")
    load_landing(dsn, world / "landing", progress=False)
    dbt(SELECTION, service_env_for(dsn, tmp_path_factory.mktemp("mkt_local")))
    return dsn, world


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_members_reconcile_with_the_landed_audience(marketing_warehouse):
    dsn, world = marketing_warehouse
    landed = {
        (r["campaign_id"], r["account_id"]): r["assignment"]
        for p in sorted((world / "landing" / "marketing").glob("*/audience_members.csv"))
        for r in _rows(p)
    }
    with psycopg.connect(dsn) as conn:
        members = conn.execute(
            "select campaign_id, account_id, assignment, member_accounts "
            "from marts.mart_campaign_members"
        ).fetchall()
        unresolved = conn.execute(
            "select count(*) from staging.stg_marketing__audience_members as m "
            "where m.superseded_at is null and not exists (select from identity.customer_ids i "
            "where i.source_system = 'crm' and i.source_table = 'accounts' "
            "and i.source_record_id = m.account_id)"
        ).fetchone()[0]
    assert len(landed) > 200
    # every landed member is a mart member (one row per CID) or has no CID: nothing lost
    assert sum(m[3] for m in members) + unresolved == len(landed)
    for campaign, account, assignment, n in members:
        if n == 1:
            assert landed[(campaign, account)] == assignment


def test_ab_mart_is_the_difference_of_its_members(marketing_warehouse):
    dsn, _ = marketing_warehouse
    with psycopg.connect(dsn) as conn:
        tests = conn.execute(
            "select scope_id, effect, ci_low, ci_high, n_treatment, n_holdout, verdict "
            "from marts.mart_campaign_ab_tests where scope = 'campaign' and metric = 'conversion'"
        ).fetchall()
        rows = conn.execute(
            "select campaign_id, assignment, converted::int from marts.mart_campaign_members "
            "where window_closed and assignment in ('treatment', 'holdout')"
        ).fetchall()
    assert len(tests) >= 10
    by = {}
    for campaign, assignment, y in rows:
        by.setdefault((campaign, assignment), []).append(y)
    for campaign, effect, low, high, n_t, n_h, verdict in tests:
        t, h = np.array(by[(campaign, "treatment")]), np.array(by[(campaign, "holdout")])
        assert (len(t), len(h)) == (n_t, n_h)
        assert effect == pytest.approx(t.mean() - h.mean())
        se = math.sqrt(t.var(ddof=1) / len(t) + h.var(ddof=1) / len(h))
        assert (low, high) == pytest.approx((effect - Z90 * se, effect + Z90 * se))
        assert verdict in {"worked", "backfired", "inconclusive"}


def test_conversions_are_the_landed_erp_orders(marketing_warehouse):
    """Treated conversions per campaign, from the landing files and the simulator's truth alone
    (which company each account and ERP code is), against the KPI mart: the same counts for
    nearly every campaign (an identity error may move a member)."""
    dsn, world = marketing_warehouse
    records = _rows(world / "truth" / "records.csv")
    company = {(r["source"], r["record_key"]): r["company_id"] for r in records}
    campaigns = {}
    for p in sorted((world / "landing" / "marketing").glob("*/campaigns.csv")):
        for r in _rows(p):
            campaigns[r["campaign_id"]] = r
    orders: dict[str, list[str]] = {}
    for p in sorted((world / "landing" / "erp").glob("*/orders.csv")):
        with open(p, encoding="gb18030", newline="") as fh:
            for r in csv.DictReader(fh):
                orders[r["order_id"]] = r  # the latest version wins
    by_company: dict[str, list[str]] = {}
    for r in orders.values():
        if r["status"] != "cancelled":
            by_company.setdefault(company[("erp", r["customer_code"])], []).append(r["ordered_at"])
    expected: dict[str, int] = {}
    for p in sorted((world / "landing" / "marketing").glob("*/audience_members.csv")):
        for m in _rows(p):
            if m["assignment"] != "treatment":
                continue
            c = campaigns[m["campaign_id"]]
            start, days = c["starts_on"], int(c["response_window_days"] or 30)
            d0 = dt.date.fromisoformat(start)
            end = (d0 + dt.timedelta(days=days)).isoformat()
            placed = by_company.get(company[("crm", m["account_id"])], [])
            hit = any(start <= o[:10] < end for o in placed)
            expected[m["campaign_id"]] = expected.get(m["campaign_id"], 0) + hit
    with psycopg.connect(dsn) as conn:
        got = dict(conn.execute(
            "select campaign_id, conversions_treatment from marts.mart_campaign_kpis "
            "where breakdown = 'all'"
        ).fetchall())  # fmt: skip
    same = sum(got.get(c) == n for c, n in expected.items())
    assert same >= 0.9 * len(expected), {c: (n, got.get(c)) for c, n in expected.items()}


def test_the_ab_report_has_a_page_and_a_verdict_per_campaign(marketing_warehouse, tmp_path):
    dsn, _ = marketing_warehouse
    with psycopg.connect(dsn) as conn:
        written = write_reports(conn, tmp_path)
        (campaigns,) = conn.execute(
            "select count(*) from marts.mart_campaign_kpis where breakdown = 'all'"
        ).fetchone()
    assert written["pages"] == campaigns > 0
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "生命周期策略" in index and "<svg" in index
    assert sum(written["verdicts"].values()) >= 10
    page = next(p for p in tmp_path.glob("*.html") if p.name != "index.html")
    text = page.read_text(encoding="utf-8")
    assert "A/B" in text and ("结论" in text or "尚未结束" in text)
