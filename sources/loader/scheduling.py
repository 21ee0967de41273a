"""Worker scheduling: which batches may load concurrently, and the workers that load them."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import psycopg

from sources.contract import Contract, load_contract
from sources.loader.discovery import BatchRef, _read_manifest, discover_batches
from sources.loader.loading import _connect, _load_batch, record_not_loaded
from sources.loader.report import BatchReport, LoadError, LoadReport
from sources.loader.schema import ensure_raw_schema


@dataclass
class _Unit:
    """Batches one worker loads one after the other, in batch_id order."""

    refs: list[BatchRef]
    weight: int  # bytes of the batches' files: the biggest units are handed out first


def _batch_bytes(ref: BatchRef) -> int:
    try:
        return sum(e.stat().st_size for e in ref.path.iterdir() if e.is_file())
    except OSError:
        return 0


def _has_extracted_at(ref: BatchRef) -> bool:
    try:
        return _read_manifest(ref) is not None
    except LoadError:
        return False  # the batch fails when it loads; until then, keep its source in order


def _plan(refs: list[BatchRef]) -> list[_Unit]:
    """Split the batches into units that may load concurrently, biggest first.

    A batch without ``extracted_at`` gets ``_loaded_at`` as its versions' ``known_at``
    (dbt's version_columns), so the batches of a source with such a batch load one after
    the other, in batch_id order (one unit). When every batch of a source has
    ``extracted_at``, the order of their commits changes nothing in raw or downstream, and
    each batch is a unit of its own.
    """
    by_source: dict[str, list[BatchRef]] = {}
    for ref in refs:
        by_source.setdefault(ref.source, []).append(ref)
    units: list[_Unit] = []
    for group in by_source.values():
        group.sort(key=lambda r: r.batch_id)
        if len(group) > 1 and all(_has_extracted_at(r) for r in group):
            units += [_Unit([r], _batch_bytes(r)) for r in group]
        else:
            units.append(_Unit(group, sum(_batch_bytes(r) for r in group)))
    order = {ref: i for i, ref in enumerate(refs)}
    units.sort(key=lambda u: (-u.weight, order[u.refs[0]]))
    return units


def load_landing(
    dsn: str,
    landing_root: Path,
    *,
    sources: list[str] | None = None,
    batches: list[str] | None = None,
    progress: bool = True,
    contract: Contract | None = None,
    workers: int = 2,
) -> LoadReport:
    """Load every batch under ``landing_root`` (optionally only some sources / batch ids).

    Each batch loads in its own transaction. ``workers`` connections load batches
    concurrently, the biggest first: batches of different sources always, batches of one
    source too when all of them have ``extracted_at`` in their manifest (otherwise that
    source's batches load one after the other in batch_id order, see _plan). The report
    lists the batches in discovery order (batch_id, source), whatever the order of loading.

    A batch that fails with LoadError is rolled back; the batches of its source that have
    not started are not loaded (status ``skipped``), the other sources are loaded to the
    end, then one LoadError names every failed batch (``.report`` has all batches). A folder
    that cannot be loaded (see discover_batches) is reported as failed without stopping
    anything; failed and skipped batches get their row in raw._batches. Any
    other error stops the load: no new batch starts, the running ones finish, the error is
    raised as is.
    """
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    if workers < 1:
        raise ValueError(f"workers must be >= 1, not {workers}")
    contract = contract or load_contract()
    refs = discover_batches(Path(landing_root), contract, sources, batches)
    # Folders that cannot be loaded are reported as failed; the other batches load.
    units = deque(_plan([r for r in refs if r.problem is None]))
    done: dict[BatchRef, BatchReport] = {}
    failed_sources: set[str] = set()
    errors: list[tuple[BatchRef, LoadError]] = []
    crashed: list[BaseException] = []
    busy: dict[str, int] = {}  # source -> workers loading one of its units
    lock = threading.Lock()
    bar = tqdm(total=len(refs), desc="loading batches", unit="batch", disable=not progress)

    def finish(ref: BatchRef, batch: BatchReport) -> None:
        with lock:
            done[ref] = batch
            bar.set_postfix_str(f"{ref.source}/{ref.batch_id}", refresh=False)
            bar.update()

    def next_ref(unit: _Unit) -> BatchRef | None:
        """The unit's next batch to load, or None (skipping what a failure stopped)."""
        while unit.refs:
            ref = unit.refs.pop(0)
            with lock:
                stop = crashed or ref.source in failed_sources
            if not stop:
                return ref
            if not crashed:
                finish(
                    ref,
                    BatchReport(
                        ref.source,
                        ref.batch_id,
                        status="skipped",
                        error="not loaded: an earlier batch of this source failed",
                    ),
                )
        return None

    def load_unit(unit: _Unit, conns: list[psycopg.Connection], alongside: bool) -> None:
        while (ref := next_ref(unit)) is not None:
            if not conns:
                conns.append(_connect(dsn))
            try:
                batch = _load_batch(conns[0], ref, contract, alongside)
            except LoadError as exc:
                with lock:
                    failed_sources.add(ref.source)
                    errors.append((ref, exc))
                finish(ref, BatchReport(ref.source, ref.batch_id, status="failed", error=str(exc)))
                continue
            except BaseException as exc:  # raised by load_landing once every worker stopped
                with lock:
                    crashed.append(exc)
                finish(ref, BatchReport(ref.source, ref.batch_id, status="failed", error=str(exc)))
                return
            finish(ref, batch)

    def work(conn: psycopg.Connection | None) -> None:
        """One worker: its own connection, units until none are left (or one crashed)."""
        conns = [conn] if conn is not None else []
        try:
            while True:
                with lock:
                    if crashed or not units:
                        return
                    # The biggest unit left, whatever its source: the biggest batches start
                    # first and the small ones fill in, so the workers finish together. A
                    # batch loading beside one of its own source takes its files in another
                    # order (see _load_order).
                    unit = units.popleft()
                    source = unit.refs[0].source
                    alongside = busy.get(source, 0) > 0
                    busy[source] = busy.get(source, 0) + 1
                try:
                    load_unit(unit, conns, alongside)
                finally:
                    with lock:
                        busy[source] -= 1
        finally:
            for c in conns:
                c.close()

    for ref in refs:
        if ref.problem is not None:
            errors.append((ref, LoadError(ref.problem)))
            finish(ref, BatchReport(ref.source, ref.batch_id, status="failed", error=ref.problem))
    with bar:
        first = _connect(dsn)
        try:
            ensure_raw_schema(first, contract)
            record_not_loaded(first, [(r, "failed", r.problem) for r in refs if r.problem])
        except BaseException:
            first.close()
            raise
        n = max(1, min(workers, len(units)))
        if n == 1:
            work(first)
        else:
            with ThreadPoolExecutor(n, thread_name_prefix="portrait-load") as pool:
                futures = [pool.submit(work, first if i == 0 else None) for i in range(n)]
            for future in futures:
                future.result()
    report = LoadReport([done[ref] for ref in refs if ref in done])
    skipped = [
        (r, "skipped", done[r].error) for r in refs if r in done and done[r].status == "skipped"
    ]
    if skipped and not crashed:
        with _connect(dsn) as conn:
            record_not_loaded(conn, skipped)
    if crashed:
        exc = crashed[0]
        if isinstance(exc, LoadError):
            exc.report = report
        raise exc
    if errors:
        errors.sort(key=lambda e: refs.index(e[0]))
        if len(errors) == 1:
            message = str(errors[0][1])
        else:
            message = f"{len(errors)} batches failed:\n" + "\n".join(
                f"- {r.source}/{r.batch_id}: {exc}" for r, exc in errors
            )
        raise LoadError(message, report) from errors[0][1]
    return report
