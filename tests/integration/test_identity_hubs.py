"""Hub identifiers: a placeholder mobile, a shared switchboard and an industrial-park address
on every CRM account never merge companies with different valid credit codes, and
identity.hub_identifiers lists them for data stewards."""

import psycopg
import pytest
from conftest import run_dbt as dbt
from conftest import service_env_for

from portrait.scorecards.identity import identity_quality
from sources.loader import load_landing

IDENTITY = [
    "+customer_ids", "+review_queue", "+dim_customer", "+cid_events",
    "--indirect-selection", "cautious",
]  # fmt: skip

pytestmark = pytest.mark.integration


def test_shared_placeholders_merge_nothing_and_are_listed(fresh_db, tiny_world, tmp_path):
    load_landing(fresh_db, tiny_world / "landing", progress=False)
    with psycopg.connect(fresh_db) as conn:
        # Half the accounts typed the textbook mobile, the other half the park's switchboard
        # and address: before the guard these glued unrelated companies into one CID.
        conn.execute(
            """
            update raw.crm__accounts
            set phone = case when right(account_id, 1) < '5'
                    then '13800138000' else '021-5555 0000' end,
                address = case when right(account_id, 1) >= '5'
                    then '苏州工业园区星湖街328号' else address end
            """
        )
    env = service_env_for(fresh_db, tmp_path / "local")
    dbt(["build", "--select", *IDENTITY], env)
    with psycopg.connect(fresh_db) as conn:
        conflicting = conn.execute(
            """
            select count(*) from (
                select c.cid
                from identity.customer_ids as c
                inner join identity.int_company_records_normalized as r
                    using (source_system, source_record_id)
                where r.credit_code is not null
                group by c.cid
                having count(distinct r.credit_code) > 1
            ) as x
            """
        ).fetchone()[0]
        hubs = dict(
            conn.execute(
                "select identifier_value, reason from identity.hub_identifiers"
                " where identifier_kind in ('phone', 'address')"
            ).fetchall()
        )
    assert conflicting == 0
    assert hubs.get("13800138000") == "placeholder"
    assert hubs.get("02155550000") == "conflicting_credit_codes"
    assert any("星湖街328" in value for value in hubs)
    quality = identity_quality(fresh_db, tiny_world / "truth")
    assert quality["pairwise_f1"] >= 0.95, quality
