"""Landing files per the contract, monthly batches, and the streamed record truth
(`truth/records.csv`: the company of each record; `truth/persons.csv`: the person a record
names, for CRM contacts, lab requesters, service callers and ERP contact persons;
`truth/texts.csv`: the truth of each free text written, see texts.py)."""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import json
from pathlib import Path

from sources.contract import Contract

CST = dt.timezone(dt.timedelta(hours=8))
_CST_SUFFIX = dt.datetime(2000, 1, 1, tzinfo=CST).isoformat()[-6:]  # "+08:00"


class Calendar:
    """Day numbers relative to `start` (day 0), month boundaries and timestamp formatting."""

    def __init__(self, start: dt.date, months: int, horizon: int = 8):
        self.start = start
        self.months = months
        self.epoch = dt.datetime(start.year, start.month, start.day, tzinfo=CST)
        firsts = []
        y, m = start.year, start.month
        for _ in range(months + horizon + 1):
            firsts.append(dt.date(y, m, 1))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        self.firsts = firsts
        self.month_start = [(d - start).days for d in firsts]
        self.month_days = [
            b - a for a, b in zip(self.month_start[:-1], self.month_start[1:], strict=True)
        ]
        self.end_day = self.month_start[months]  # first day after the history
        self._dates: dict[int, str] = {}

    def month_of_year(self, m: int) -> int:
        return self.firsts[m].month

    def month_of_day(self, day: int) -> int:
        """Month index of a day number (may be negative or beyond the history)."""
        if day < 0:
            return -1
        return bisect.bisect_right(self.month_start, day) - 1

    def ts(self, seconds: float) -> str:
        """ISO timestamp at +08:00, as `(epoch + seconds).isoformat()` (a few million calls at
        SF100: the day's date is cached, the time of day formatted directly)."""
        day, sec = divmod(int(seconds), 86400)
        hours, sec = divmod(sec, 3600)
        return f"{self.date(day)}T{hours:02d}:{sec // 60:02d}:{sec % 60:02d}{_CST_SUFFIX}"

    def date(self, day: int) -> str:
        day = int(day)
        text = self._dates.get(day)
        if text is None:
            text = self._dates[day] = (self.start + dt.timedelta(days=day)).isoformat()
        return text

    def batch_id(self, m: int) -> str:
        return self.firsts[m + 1].strftime("%Y%m%d")


class Landing:
    """Writes one batch per month and source; rows dated in a later month wait for it."""

    def __init__(
        self, out: Path, contract: Contract, sources: list[str], cal: Calendar, texts: bool = True
    ):
        self.root = out / "landing"
        self.cal = cal
        self.sources = [s for s in contract.source_names if s in sources]
        self.tables: dict[tuple[str, str], tuple[list[str], list[int]]] = {}
        self.encoding: dict[str, str] = {}
        for src in self.sources:
            spec = contract.source(src)
            self.encoding[src] = spec.encoding
            for tab in spec.tables:
                cols = list(tab.column_names)
                self.tables[(src, tab.name)] = (cols, [cols.index(k) for k in tab.key])
        self.pending: dict[int, list[tuple]] = {}
        self.month = -1
        self.files: dict[tuple[str, str], tuple] = {}
        self.counts: dict[str, int] = {f"{s}.{t}": 0 for s, t in self.tables}
        truth_dir = out / "truth"
        truth_dir.mkdir(parents=True, exist_ok=True)
        self._truth_fh = open(truth_dir / "records.csv", "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed in close())
        self.truth = csv.writer(self._truth_fh)
        self.truth.writerow(["source", "table", "record_key", "company_id"])
        self._persons_fh = open(truth_dir / "persons.csv", "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed in close())
        self.persons = csv.writer(self._persons_fh)
        self.persons.writerow(["source", "table", "record_key", "person_id"])
        self._texts_fh = None
        if texts:
            self._texts_fh = open(truth_dir / "texts.csv", "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed in close())
            self.texts = csv.writer(self._texts_fh)
            self.texts.writerow(["source", "table", "record_key", "column", "company_id",
                                 "topic", "requirements", "measured", "hostile"])  # fmt: skip

    def open_month(self, m: int) -> None:
        self.month = m
        batch = self.cal.batch_id(m)
        # Extracted at the midnight that closes the month: a month-end snapshot (cutoff =
        # midnight after as_of_date) knows the whole month, and nothing after it.
        extracted = dt.datetime.combine(self.cal.firsts[m + 1], dt.time(0, 0), tzinfo=CST)
        for src in self.sources:
            d = self.root / src / batch
            d.mkdir(parents=True, exist_ok=True)
            manifest = {"batch_id": batch, "source": src, "extracted_at": extracted.isoformat()}
            (d / "_batch.json").write_text(json.dumps(manifest) + "\n", encoding="utf-8")
        for (src, table), (cols, _) in self.tables.items():
            path = self.root / src / batch / f"{table}.csv"
            fh = open(path, "w", encoding=self.encoding[src], newline="")  # noqa: SIM115 (closed in close_month())
            w = csv.writer(fh, lineterminator="\r\n")
            w.writerow(cols)
            # Rows wait here until the month closes: a record changed twice in one month is
            # exported once, in its latest version (an export has one row per key).
            self.files[(src, table)] = (fh, w, {})
        for src, table, values, company, person, texts in self.pending.pop(m, []):
            self._write(src, table, values, company, person, texts)

    def close_month(self) -> None:
        for fh, w, rows in self.files.values():
            w.writerows(rows.values())
            fh.close()
        self.files = {}

    def close(self) -> None:
        self.close_month()
        self._truth_fh.close()
        self._persons_fh.close()
        if self._texts_fh is not None:
            self._texts_fh.close()

    def row(
        self,
        month: int,
        src: str,
        table: str,
        row: dict,
        company: str | None,
        person: str | None = None,
        texts: list[tuple[str, object]] | None = None,
    ) -> None:
        """Queue `row` for the batch of `month`. `company` (and `person`, for a record that
        names one) is given for a record's first version only (it goes to the truth); later
        versions pass None. `texts`: (column, texts.Text) of the free texts this version is
        the first to carry (their truth is written with it)."""
        spec = self.tables.get((src, table))
        if spec is None or month >= self.cal.months:
            return
        values = [row.get(c, "") for c in spec[0]]
        if month <= self.month:
            self._write(src, table, values, company, person, texts)
        else:
            self.pending.setdefault(month, []).append((src, table, values, company, person, texts))

    def _write(
        self,
        src: str,
        table: str,
        values: list[str],
        company: str | None,
        person: str | None,
        texts: list | None = None,
    ) -> None:
        key = "|".join(values[i] for i in self.tables[(src, table)][1])
        rows = self.files[(src, table)][2]
        if key not in rows:
            self.counts[f"{src}.{table}"] += 1
        rows[key] = values
        if company is not None:
            self.truth.writerow([src, table, key, company])
            if person is not None:
                self.persons.writerow([src, table, key, person])
        if texts and self._texts_fh is not None:
            for column, text in texts:
                self.texts.writerow([src, table, key, column, *text.truth()])
