"""Audiences' holdout and filter parameters, without a warehouse: the bucket is a pure function
of seed, campaign and CID, the share is respected, and an audience's stored parameters give back
the filter the panel URL describes."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from marketing import audiences
from marketing.audiences import assign, bucket
from marketing.filters import BadParameter, CustomerFilter

REPO = Path(__file__).resolve().parents[2]
CIDS = [f"CID{i:06d}" for i in range(20000)]


def test_the_bucket_is_sha256_of_seed_campaign_and_cid_and_never_changes():
    # pinned: the same member lands in the same bucket on every machine and in every release
    assert bucket(19, "c1", "CID000001") == 0.5181043886534258
    assert bucket(19, "c1", "CID000001") == bucket(19, "c1", "CID000001")
    assert bucket(19, "c2", "CID000001") != bucket(19, "c1", "CID000001")
    assert bucket(20, "c1", "CID000001") != bucket(19, "c1", "CID000001")
    assert all(0.0 <= bucket(19, "c1", cid) < 1.0 for cid in CIDS[:1000])


def test_buckets_are_uniform_enough():
    bins = [0] * 10
    for cid in CIDS:
        bins[int(bucket(7, "spring", cid) * 10)] += 1
    expected = len(CIDS) / 10
    chi2 = sum((n - expected) ** 2 / expected for n in bins)
    assert chi2 < 27.9  # 9 degrees of freedom, p = 0.001


@pytest.mark.parametrize("share", [0.05, 0.2, 0.5])
def test_the_holdout_share_is_respected_within_binomial_bounds(share):
    members = assign(CIDS, "autumn", 19, share)
    held = sum(1 for _, kind, _ in members if kind == "holdout")
    sd = math.sqrt(len(CIDS) * share * (1 - share))
    assert abs(held - len(CIDS) * share) < 4 * sd
    assert all((kind == "holdout") == (b < share) for _, kind, b in members)


def test_a_members_assignment_does_not_depend_on_the_other_members():
    everyone = {cid: kind for cid, kind, _ in assign(CIDS, "c", 19, 0.3)}
    some = CIDS[5000:5300] + CIDS[:10]
    assert {cid: kind for cid, kind, _ in assign(some, "c", 19, 0.3)} == {
        cid: everyone[cid] for cid in some
    }


def test_a_campaigns_earlier_assignment_is_kept_whatever_the_share():
    cid = next(c for c in CIDS if bucket(19, "c", c) < 0.1)  # held out at 20%
    kept = {cid: ("holdout", bucket(19, "c", cid))}
    assert assign([cid], "c", 19, 0.0, kept)[0][1] == "holdout"
    assert assign([cid], "c", 19, 0.0)[0][1] == "treatment"


def test_a_run_is_named_by_campaign_version_and_snapshot():
    import datetime as dt

    day = dt.date(2024, 6, 30)
    assert audiences.run_id_for("spring", 2, day) == "spring:v2:2024-06-30"


def test_filter_parameters_round_trip():
    params = {
        "customer_type": ["manufacturer", "distributor"],
        "lifecycle_stage": "growth",
        "tag_all": ["rd_driven", "parameter_sensitive"],
        "tag_none": "lifecycle_churned",
        "churn_min": "0.6",
        "purchase_max": 0.9,
        "watchlist": "churn",
        "q": "新材料",
    }
    flt = CustomerFilter.from_params(params)
    assert flt == CustomerFilter(
        facets={"customer_type": ["manufacturer", "distributor"], "lifecycle_stage": ["growth"]},
        tags_all=["rd_driven", "parameter_sensitive"],
        tags_none=["lifecycle_churned"],
        score_ranges={"churn": (0.6, None), "purchase": (None, 0.9)},
        watchlist="churn",
        q="新材料",
    )
    assert CustomerFilter.from_params(flt.to_params()) == flt
    assert flt.to_params()["churn_min"] == 0.6 and flt.to_params()["tag_none"] == [
        "lifecycle_churned"
    ]
    assert CustomerFilter.from_params({}).to_params() == {}


def test_a_panel_query_string_is_an_audience_filter():
    from urllib.parse import parse_qs, urlencode

    flt = CustomerFilter.from_params(parse_qs("tag_all=rd_driven&tag_all=parameter_sensitive"
                                              "&churn_min=0.6&region=华东"))  # fmt: skip
    assert parse_qs(urlencode(flt.to_params(), doseq=True)) == {
        "region": ["华东"],
        "tag_all": ["rd_driven", "parameter_sensitive"],
        "churn_min": ["0.6"],
    }


@pytest.mark.parametrize(
    ("params", "parameter"),
    [({"password": "x"}, "password"), ({"churn_min": "high"}, "churn_min"),
     ({"watchlist": ["churn", "credit"]}, "watchlist")],
)  # fmt: skip
def test_unknown_or_malformed_parameters_are_refused_naming_them(params, parameter):
    with pytest.raises(BadParameter) as err:
        CustomerFilter.from_params(params)
    assert err.value.parameter == parameter


def test_shipped_audiences_parse_and_name_catalogued_tags():
    with (REPO / "dbt_project" / "seeds" / "tag_definitions.csv").open() as fh:
        codes = {row["code"] for row in csv.DictReader(fh)}
    shipped = {a["audience_id"]: a for a in audiences.shipped_audiences()}
    assert {"rd_performance_report", "project_buyers_preseason", "churn_retention"} <= set(shipped)
    for a in shipped.values():
        flt = CustomerFilter.from_params(a["filter"])
        assert set(flt.tags_all + flt.tags_any + flt.tags_none) <= codes, a["audience_id"]
        assert 0 <= a["holdout_share"] < 1
    assert CustomerFilter.from_params(shipped["churn_retention"]["filter"]).score_ranges == {
        "churn": (0.6, None)
    }
