import datetime as dt

import pendulum

from portrait.orchestration import as_of_date_for


def test_as_of_date_is_the_business_day_before_the_run():
    # `airflow dags test <dag> 2026-07-01` runs at UTC midnight: 08:00 in Shanghai.
    assert as_of_date_for(pendulum.datetime(2026, 7, 1, tz="UTC")) == "2026-06-30"
    # The scheduled run at Shanghai midnight is 16:00 UTC the day before.
    assert as_of_date_for(pendulum.datetime(2026, 6, 30, 16, tz="UTC")) == "2026-06-30"
    assert as_of_date_for(dt.datetime(2026, 1, 1, 3, tzinfo=dt.UTC)) == "2025-12-31"
