"""The simulator's marketing campaigns: off by default and then absent, deterministic,
randomised holdouts that get nothing, disjoint audiences of real CRM accounts, and a true
effect that the landed ERP orders reproduce."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from test_simulator import files_of, read_table, read_truth  # the same readers

from sources.contract import load_contract
from sources.simulator import simulate

CONTRACT = load_contract()
WORLD = {"scale": 2, "months": 14, "seed": 8, "progress": False, "oracle_replays": 4}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mkt")
    simulate(out, marketing=True, **WORLD)
    return out


def test_off_writes_no_marketing_and_on_is_deterministic(world, tmp_path):
    off, again = tmp_path / "off", tmp_path / "again"
    simulate(off, **WORLD)
    simulate(again, marketing=True, **WORLD)
    assert not (off / "landing" / "marketing").exists()
    assert not (off / "truth" / "campaigns.csv").exists()
    assert files_of(world) == files_of(again)
    # with campaigns on, only the ERP (their orders) and the truth change; record numbers
    # after a campaign's first added record shift (a ticket names an ERP customer code)
    for source in ("crm", "lab", "projects", "registry", "catalog"):
        assert files_of(world / "landing" / source) == files_of(off / "landing" / source)
    strip = [{**t, "erp_customer_code": ""} for t in read_table(world, "service", "tickets")]
    assert strip == [{**t, "erp_customer_code": ""} for t in read_table(off, "service", "tickets")]
    # a subset without the marketing source: no marketing folder, the same world
    erp_only = tmp_path / "erp_only"
    simulate(erp_only, marketing=True, sources=["erp"], **WORLD)
    assert sorted(p.name for p in (erp_only / "landing").iterdir()) == ["erp"]
    assert files_of(erp_only / "landing" / "erp") == files_of(world / "landing" / "erp")


def test_campaigns_members_and_responses(world):
    campaigns = read_table(world, "marketing", "campaigns")
    members = read_table(world, "marketing", "audience_members")
    responses = read_table(world, "marketing", "responses")
    truth = read_truth(world, "campaigns.csv")
    assert campaigns and len(campaigns) == len(truth)
    assert {c["campaign_id"] for c in campaigns} == {t["campaign_id"] for t in truth}
    # keys unique
    assert len({c["campaign_id"] for c in campaigns}) == len(campaigns)
    assert len({(m["campaign_id"], m["account_id"]) for m in members}) == len(members)
    assert len({r["response_id"] for r in responses}) == len(responses)
    # every member is a CRM account that was written
    accounts = {a["account_id"] for a in read_table(world, "crm", "accounts")}
    assert {m["account_id"] for m in members} <= accounts
    by_campaign = defaultdict(list)
    for m in members:
        by_campaign[m["campaign_id"]].append(m)
    for t in truth:
        arm = [m["assignment"] for m in by_campaign[t["campaign_id"]]]
        n_hold, n_treat = arm.count("holdout"), arm.count("treatment")
        assert (n_hold, n_treat) == (int(t["n_holdout"]), int(t["n_treatment"]))
        assert min(n_hold, n_treat) >= 10
        share = n_hold / len(arm)
        assert 0.2 - 1 / len(arm) <= share <= 0.5 + 1 / len(arm)
    # the holdout is not contacted: no sent_at, no responses
    held = {(m["campaign_id"], m["account_id"]) for m in members if m["assignment"] == "holdout"}
    assert all(m["sent_at"] == "" for m in members if m["assignment"] == "holdout")
    assert all(m["sent_at"] for m in members if m["assignment"] == "treatment")
    assert not any((r["campaign_id"], r["account_id"]) in held for r in responses)
    assert {r["event"] for r in responses} <= {"delivered", "opened", "clicked", "replied",
                                                "sample_requested", "meeting_booked",
                                                "unsubscribed"}  # fmt: skip
    # a company is in at most one campaign a month
    month_of = {c["campaign_id"]: c["starts_on"][:7] for c in campaigns}
    companies = [(month_of[m["campaign_id"]], m["company_id"])
                 for m in read_truth(world, "campaign_members.csv")]  # fmt: skip
    assert len(set(companies)) == len(companies)


def _conversions(root: Path) -> set[tuple[str, str]]:
    """(company, yyyy-mm) with an order placed that month that is not cancelled, from the
    landed ERP orders (their latest version) and the record truth of ERP customers."""
    code_company = {
        r["record_key"]: r["company_id"]
        for r in read_truth(root, "records.csv")
        if (r["source"], r["table"]) == ("erp", "customers")
    }
    latest = {r["order_id"]: r for r in read_table(root, "erp", "orders")}
    return {
        (code_company[r["customer_code"]], r["ordered_at"][:7])
        for r in latest.values()
        if r["status"] != "cancelled"
    }


def test_landed_orders_reproduce_the_true_effect(tmp_path):
    out = tmp_path / "big"
    simulate(out, marketing=True, **{**WORLD, "scale": 10, "seed": 21})
    converted = _conversions(out)
    starts = {c["campaign_id"]: c["starts_on"][:7] for c in read_truth(out, "campaigns.csv")}
    members = defaultdict(list)
    for m in read_truth(out, "campaign_members.csv"):
        members[m["campaign_id"]].append(m)
    # per campaign a difference in conversion and its variance, pooled by members
    n_all, est, var, tau = 0, 0.0, 0.0, 0.0
    for cid, ms in members.items():
        y = {
            arm: np.array([(m["company_id"], starts[cid]) in converted
                           for m in ms if m["assignment"] == arm], dtype=float)
            for arm in ("treatment", "holdout")
        }  # fmt: skip
        n = len(ms)
        n_all += n
        est += n * (y["treatment"].mean() - y["holdout"].mean())
        var += n**2 * sum(v.var(ddof=1) / v.size for v in y.values())
        tau += sum(float(m["tau"]) for m in ms)
    est, se, tau = est / n_all, var**0.5 / n_all, tau / n_all
    assert len(members) >= 10
    assert tau > 0.01  # campaigns do something on the whole
    assert abs(est - tau) < 3 * se, (est, tau, se)
    # the holdout's conversion follows p0: its members' orders are as without campaigns
    hold = [m for ms in members.values() for m in ms if m["assignment"] == "holdout"]
    y0 = np.array([(m["company_id"], starts[m["campaign_id"]]) in converted for m in hold])
    p0 = np.array([float(m["p0"]) for m in hold])
    assert abs(y0.mean() - p0.mean()) < 3 * np.sqrt((p0 * (1 - p0)).sum()) / len(hold)
