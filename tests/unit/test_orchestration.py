import datetime as dt

import pendulum
import pytest

from portrait.orchestration import as_of_date_for


def test_as_of_date_is_the_business_day_before_the_run():
    # `airflow dags test <dag> 2026-07-01` runs at UTC midnight: 08:00 in Shanghai.
    assert as_of_date_for(pendulum.datetime(2026, 7, 1, tz="UTC")) == "2026-06-30"
    # The scheduled run at Shanghai midnight is 16:00 UTC the day before.
    assert as_of_date_for(pendulum.datetime(2026, 6, 30, 16, tz="UTC")) == "2026-06-30"
    assert as_of_date_for(dt.datetime(2026, 1, 1, 3, tzinfo=dt.UTC)) == "2025-12-31"


@pytest.mark.parametrize("password", ["s3cret", None])
def test_dbt_profile_is_built_from_the_airflow_connection(monkeypatch, password):
    """dbt in the DAGs reaches the warehouse with the connection's own credentials."""
    from portrait.orchestration import dbt_profile

    auth = f"ana:{password}" if password else "ana"
    monkeypatch.setenv("AIRFLOW_CONN_PORTRAIT_WAREHOUSE", f"postgresql://{auth}@127.0.0.1:5439/wh")
    mapping = dbt_profile().profile_mapping
    profile = mapping.profile
    assert (profile["host"], profile["port"], profile["user"], profile["dbname"]) == (
        "127.0.0.1",
        5439,
        "ana",
        "wh",
    )
    if password:
        assert password not in str(profile), "the password travels as an env var, not in YAML"
        assert password in mapping.env_vars.values()
    else:
        assert profile["password"] == "" and mapping.env_vars.keys() <= {
            "DBT_SEND_ANONYMOUS_USAGE_STATS",
            "DO_NOT_TRACK",
        }
