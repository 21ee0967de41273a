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


# ---- coverage: the DAGs' dates come from the settings and the data ---------------------------
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _at(day: str, hour: int = 0) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), SHANGHAI)


def _history(**sources: tuple[str, str]):
    from portrait.orchestration import Coverage

    return Coverage({s: (_at(a), _at(b)) for s, (a, b) in sources.items()})


@pytest.fixture
def start_date_env(monkeypatch):
    """Set (or clear) PORTRAIT_START_DATE for one test; the settings cache follows."""
    from portrait.settings import get_settings

    def set_to(value: str | None) -> None:
        if value is None:
            monkeypatch.delenv("PORTRAIT_START_DATE", raising=False)
        else:
            monkeypatch.setenv("PORTRAIT_START_DATE", value)
        get_settings.cache_clear()

    yield set_to
    get_settings.cache_clear()


def test_a_history_that_ends_in_2024_is_runnable_by_default(start_date_env):
    """Airflow creates no task for a date before start_date: the default must not cut off a
    company whose history ends before the DAGs were written."""
    from portrait.orchestration import start_date

    start_date_env(None)
    assert start_date() <= pendulum.datetime(2022, 1, 1, tz="Asia/Shanghai")


@pytest.mark.parametrize("day", ["2022-02-01", "2019-07-15"])
def test_the_dags_start_date_comes_from_the_settings(start_date_env, day):
    from portrait.orchestration import start_date

    start_date_env(day)
    first = dt.date.fromisoformat(day)
    assert start_date() == pendulum.datetime(first.year, first.month, first.day, tz="Asia/Shanghai")


def test_the_data_covers_the_days_between_its_first_and_newest_batch():
    from portrait.orchestration import coverage_gap

    history = _history(erp=("2022-02-01", "2024-07-01"))
    assert history.as_of_range() == (dt.date(2022, 1, 31), dt.date(2024, 6, 30))
    for day in (dt.date(2022, 1, 31), dt.date(2023, 3, 15), dt.date(2024, 6, 30)):
        assert coverage_gap(day, history) is None, day


def test_a_run_after_the_data_ends_is_refused_with_the_coverage():
    from portrait.orchestration import coverage_gap

    kind, message = coverage_gap(dt.date(2026, 11, 30), _history(erp=("2022-02-01", "2024-07-01")))
    assert kind == "after"
    assert "2026-11-30" in message and "2022-01-31..2024-06-30" in message
    assert "erp 2022-02-01 00:00..2024-07-01 00:00" in message


def test_a_run_before_the_data_starts_is_refused_with_the_coverage():
    from portrait.orchestration import coverage_gap

    kind, message = coverage_gap(dt.date(2022, 1, 30), _history(erp=("2022-02-01", "2024-07-01")))
    assert kind == "before"
    assert "2022-01-30" in message and "2022-01-31..2024-06-30" in message


def test_no_loaded_batch_covers_nothing():
    from portrait.orchestration import Coverage, coverage_gap

    for coverage in (None, Coverage({})):
        kind, message = coverage_gap(dt.date(2024, 6, 30), coverage)
        assert kind == "empty" and "raw._batches" in message
        assert coverage_gap(None, coverage)[0] == "empty", "training needs some data too"
    assert coverage_gap(None, _history(crm=("2022-02-01", "2022-03-01"))) is None


def test_coverage_spans_every_source_and_names_each():
    """A world with one source ahead of another: the span is the union, each source named."""
    from portrait.orchestration import coverage_gap

    history = _history(crm=("2023-01-01", "2024-03-01"), erp=("2022-02-01", "2024-07-01"))
    assert history.as_of_range() == (dt.date(2022, 1, 31), dt.date(2024, 6, 30))
    _, message = coverage_gap(dt.date(2024, 7, 2), history)
    assert "crm 2023-01-01 00:00..2024-03-01 00:00" in message and "erp 2022-02-01" in message


def test_a_batch_extracted_during_the_day_covers_the_days_before_it():
    """Extracted at 06:00: the day of the extraction is not complete, the day before is."""
    from portrait.orchestration import Coverage

    history = Coverage({"erp": (_at("2022-02-01", 6), _at("2024-07-01", 6))})
    assert history.as_of_range() == (dt.date(2022, 2, 1), dt.date(2024, 6, 30))


def test_a_skipped_drift_check_does_not_break_the_retrain_signal():
    from portrait.orchestration import retrain_needed

    assert retrain_needed([None, {"retrain_recommended": True}])
    assert not retrain_needed([None, {"retrain_recommended": False}])


# ---- the local runner: run dates from the data, backfill dates ------------------------------
def test_the_demo_takes_its_dates_from_the_batches(tmp_path):
    import json

    from portrait.local.runner import world_run_date, world_start_date

    for src, batch, extracted in (
        ("erp", "20220201", "2022-02-01T00:00:00+08:00"),
        ("erp", "20240701", "2024-07-01T00:00:00+08:00"),
        ("crm", "20230101", "2023-01-01T00:00:00+08:00"),
    ):
        (tmp_path / src / batch).mkdir(parents=True)
        (tmp_path / src / batch / "_batch.json").write_text(json.dumps({"extracted_at": extracted}))
    assert world_start_date(tmp_path) == dt.date(2022, 2, 1)
    assert world_run_date(tmp_path) == dt.date(2024, 7, 1)


def test_a_date_before_the_dags_start_is_refused_not_run_empty():
    from portrait.local.runner import refuse_before_start

    with pytest.raises(SystemExit, match="before the DAGs' start date 2022-02-01"):
        refuse_before_start("portrait_daily", dt.date(2021, 12, 1), dt.date(2022, 2, 1))
    refuse_before_start("portrait_daily", dt.date(2022, 2, 1), dt.date(2022, 2, 1))
    refuse_before_start("portrait_daily", dt.date(1999, 2, 1), None)


def test_backfill_dates_are_the_months_or_days_of_the_range():
    from portrait.local.runner import backfill_dates

    assert backfill_dates(dt.date(2024, 4, 15), dt.date(2024, 7, 1)) == [
        dt.date(2024, 5, 1),
        dt.date(2024, 6, 1),
        dt.date(2024, 7, 1),
    ]
    assert backfill_dates(dt.date(2023, 12, 1), dt.date(2024, 1, 1))[-1] == dt.date(2024, 1, 1)
    assert len(backfill_dates(dt.date(2024, 2, 27), dt.date(2024, 3, 2), "day")) == 5
    assert backfill_dates(dt.date(2024, 7, 2), dt.date(2024, 7, 1)) == []
    with pytest.raises(ValueError):
        backfill_dates(dt.date(2024, 1, 1), dt.date(2024, 2, 1), "week")
