"""Score a feature snapshot with the champion model and write ml.customer_scores.

Idempotent per (task, as_of_date): every chunk is staged in a temporary table and the date's
rows are replaced by one delete + insert at the end of the same transaction, so a failure
leaves the previous scores intact and a re-run never duplicates. A run may take one hash
partition of the customers (`partition` of `partitions`, as portrait_daily's mapped tasks do)
or a list of them (`cids`, an incremental re-score): it then reads, deletes and re-inserts
only those customers' rows of the date, so partitions never touch each other's rows and each
is idempotent on its own. The snapshot is streamed
with COPY in chunks so memory stays flat as customers grow; each chunk is scored by the
native LightGBM booster on all cores, with bands and reason codes computed per array, not
per row.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field

import numpy as np
from psycopg import sql

from models_ml import data
from models_ml.matrix import FeatureError, require_columns
from models_ml.registry import ChampionModel, load_champion
from models_ml.targets import FEATURE_WORDS
from portrait import db

# What scoring stages per customer; the final insert adds the run's constant columns (and
# scored_at, the transaction's time).
STAGING_DDL = """
create temp table score_staging (
    cid text, score double precision, band text, reason_1 text, reason_2 text, reason_3 text
) on commit drop
"""
DELETE_SQL = sql.SQL(
    "delete from ml.customer_scores where task = %(task)s and as_of_date = %(as_of_date)s "
    "and {customers}"
)
INSERT_SQL = """
insert into ml.customer_scores (
    cid, as_of_date, task, score, band, reason_1, reason_2, reason_3,
    model_name, model_version, model_alias, run_id
)
select
    cid, %(as_of_date)s, %(task)s, score, band, reason_1, reason_2, reason_3,
    %(model_name)s, %(model_version)s, %(model_alias)s, %(run_id)s
from score_staging
"""


def customer_filter(
    partition: int = 0, partitions: int = 1, cids: list[str] | None = None
) -> sql.Composable:
    """The predicate on `cid` that selects one run's customers (`true` for all of them): the
    same text on the snapshot read and on the delete, so a run replaces exactly what it read.

    A customer's partition is the first 32 bits of md5(cid) modulo `partitions`: stable for a
    cid whatever else is in the snapshot, and computed by the server on both tables."""
    if partitions < 1 or not 0 <= partition < partitions:
        raise ValueError(f"partition {partition} of {partitions}: need 0 <= partition < partitions")
    terms: list[sql.Composable] = []
    if partitions > 1:
        terms.append(
            sql.SQL("mod(('x' || substr(md5(cid), 1, 8))::bit(32)::bigint, {}) = {}").format(
                sql.Literal(partitions), sql.Literal(partition)
            )
        )
    if cids is not None:
        terms.append(sql.SQL("cid = any({}::text[])").format(sql.Literal(list(cids))))
    return sql.SQL(" and ").join(terms) if terms else sql.SQL("true")


def reason_codes(contrib: np.ndarray, features: list[str], top: int = 3) -> np.ndarray:
    """The `top` features that raise each row's score most, in business words, as an
    (rows, top) array; None where fewer features raise it. Contributions show in cents, and
    each distinct (feature, cents) text is formatted once, not once per row."""
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :top]
    values = np.take_along_axis(contrib, order, axis=1)
    raises = values > 0
    out = np.full(order.shape, None, dtype=object)
    if not raises.any():
        return out
    cents = np.rint(values[raises] * 100).astype(np.int64)
    span = int(cents.max()) + 1
    keys, inverse = np.unique(order[raises] * span + cents, return_inverse=True)
    words = [FEATURE_WORDS.get(name, name) for name in features]
    texts = np.array(
        [f"{words[k // span]} (+{(k % span) / 100:.2f})" for k in keys.tolist()], dtype=object
    )
    out[raises] = texts[inverse.ravel()]
    return out


class Stopwatch:
    """Seconds per stage, summed over chunks: where a scoring run spends its time."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            spent = time.perf_counter() - started
            self.seconds[stage] = self.seconds.get(stage, 0.0) + spent

    def rounded(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in self.seconds.items()}


def score_matrix(
    champ: ChampionModel, x: np.ndarray, watch: Stopwatch | None = None, reasons: bool = True
) -> dict[str, np.ndarray]:
    """Score, band and top-3 reasons of each row of a model matrix (the staged columns);
    `reasons=False` skips TreeSHAP and leaves the reason columns empty."""
    watch = watch or Stopwatch()
    with watch("predict"):
        scores = champ.predict(x)
    if reasons:
        with watch("contributions"):
            contrib = champ.contributions(x)
    with watch("reasons_and_bands"):
        if reasons:
            codes = reason_codes(contrib, champ.features)
        else:
            codes = np.full((len(scores), 3), None, dtype=object)
        bands = champ.target.bands(scores)
    return {
        "score": scores,
        "band": bands,
        "reason_1": codes[:, 0],
        "reason_2": codes[:, 1],
        "reason_3": codes[:, 2],
    }


@dataclass
class ScoreResult:
    """What a scoring run wrote (and the seconds per stage), for XCom and the CLI."""

    task: str
    as_of_date: dt.date
    rows: int
    model_version: str
    alias: str
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "task": self.task,
            "as_of_date": str(self.as_of_date),
            "rows": self.rows,
            "model_version": self.model_version,
            "alias": self.alias,
            "seconds": self.seconds,
        }


def score_task(
    task_name: str,
    as_of_date: dt.date | None = None,
    *,
    dsn: str | None = None,
    chunk_rows: int = 50_000,
    partition: int = 0,
    partitions: int = 1,
    cids: list[str] | None = None,
    reasons: bool = True,
    version: str | None = None,
) -> ScoreResult:
    """Score every customer of the snapshot with the champion of the target `task_name`, or
    only hash partition `partition` of `partitions`, or only the customers `cids` (both: their
    intersection); only the rows of the customers scored are replaced.

    `version` pins the champion's version (portrait_daily resolves it once per run, so a
    promotion landing between two partitions cannot give one date's rows two versions); without
    it the alias is resolved here. `reasons=False` writes no reason codes (the benchmark's
    end-to-end path without TreeSHAP)."""
    customers = customer_filter(partition, partitions, cids)
    filtered = partitions > 1 or cids is not None
    watch = Stopwatch()
    with watch("load_model"):
        champ = load_champion(task_name, version=version)
    # Two connections: a COPY holds its connection until the last row, so the snapshot streams
    # out of one while the scores are staged into the other, whose single transaction is the
    # only one that touches ml.customer_scores.
    with db.connect(dsn) as conn, db.connect(dsn) as reader:
        data.ensure_ml_schema(conn)
        if as_of_date is None:
            as_of_date = data.latest_snapshot_date(conn)
        available = db.table_columns(conn, "features", "customer_features")
        require_columns(available, champ.features)
        conn.execute(STAGING_DDL)
        staging = sql.Identifier("score_staging")
        written = 0
        chunks = data.snapshot_chunks(reader, as_of_date, champ.features, chunk_rows, customers)
        # closing(): on an error mid-snapshot the COPY must be ended before its connection
        # closes, else the rollback waits on a stream nobody reads.
        with closing(chunks):
            while True:
                with watch("read"):
                    batch = next(chunks, None)
                if batch is None:
                    break
                cids, x = batch
                scored = score_matrix(champ, x, watch, reasons)
                with watch("stage_write"):
                    written += db.copy_columns(conn, staging, {"cid": cids, **scored})
        # A partition or a cid list may select nobody; the snapshot itself must not be empty.
        if written == 0 and not (filtered and data.snapshot_exists(conn, as_of_date)):
            raise FeatureError(
                f"features.customer_features has no rows for as_of_date {as_of_date}."
            )
        params = {
            "task": champ.target.name,
            "as_of_date": as_of_date,
            "model_name": champ.target.registered_model_name,
            "model_version": champ.version,
            "model_alias": champ.alias,
            "run_id": champ.run_id,
        }
        with watch("replace_delete"):
            conn.execute(DELETE_SQL.format(customers=customers), params)
        with watch("replace_insert"):
            conn.execute(INSERT_SQL, params)
        with watch("commit"):
            conn.commit()
    return ScoreResult(
        champ.target.name, as_of_date, written, champ.version, champ.alias, watch.rounded()
    )
