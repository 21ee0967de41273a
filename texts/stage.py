"""The text stage as a warehouse task: staging.stg_text__documents -> texts.* (docs/text.md).

    texts.documents        each document once: flags, cleaned text, its words
    texts.requirements     the technical requirements (and measurements) each states
    texts.document_topics  each document's topic (refitted every run over all documents)
    texts.topics           the topics: name, top terms, representative documents
    texts.runs             one row per run: documents seen, new, skipped by flag, seconds

Incremental and safe to re-run: a document is keyed by the hash of where it was written and
what it says, so only new ones are read; documents gone from staging (erased, corrected) are
deleted; topics are refitted on everything. One transaction: a failed run leaves the last one.
Runs as portrait_ml (the schema's owner), which may read only stg_text__documents in staging.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

import numpy as np
from psycopg import sql
from tqdm import tqdm

from portrait import db
from texts.clean import clean
from texts.requirements import Extractor
from texts.segment import Segmenter
from texts.topics import NEW_TOPICS, discover

SCHEMA = "texts"
SOURCE = "staging.stg_text__documents"
CHUNK = 5_000

# (the schema itself is the role migration's: governance/roles.sql)
DDL = """
create table if not exists texts.documents (
    doc_id text primary key,
    source_system text not null,
    source_table text not null,
    source_record_id text not null,
    column_name text not null,
    known_at timestamptz not null,
    length_chars integer not null,
    flags text[] not null,
    word_count integer not null,
    body text not null,
    words text not null,
    processed_at timestamptz not null default now()
);
create table if not exists texts.requirements (
    doc_id text not null references texts.documents (doc_id) on delete cascade,
    seq integer not null,
    property text not null,
    comparator text not null,
    value_si double precision not null,
    value_high_si double precision,
    si_unit text not null,
    value_written text not null,
    unit_written text,
    is_measured boolean not null,
    family text,
    primary key (doc_id, seq)
);
create table if not exists texts.document_topics (
    doc_id text primary key references texts.documents (doc_id) on delete cascade,
    topic_id integer not null,
    weight double precision not null
);
create table if not exists texts.topics (
    topic_id integer primary key,
    topic_code text not null,
    name_zh text not null,
    name_en text not null,
    top_terms text[] not null,
    representative_doc_ids text[] not null,
    documents integer not null
);
create table if not exists texts.runs (
    run_id bigint generated always as identity primary key,
    finished_at timestamptz not null default now(),
    documents_seen integer not null,
    documents_new integer not null,
    documents_deleted integer not null,
    documents_skipped integer not null,
    flags jsonb not null,
    requirements_new integer not null,
    topics integer not null,
    seconds double precision not null
);
"""


@dataclass
class StageResult:
    documents_seen: int = 0
    documents_new: int = 0
    documents_deleted: int = 0
    documents_skipped: int = 0
    flags: dict[str, int] = field(default_factory=dict)
    requirements_new: int = 0
    topics: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _pg_array(values) -> str:
    """A text[] literal (flags are plain words; quoted anyway)."""
    return "{" + ",".join(f'"{v}"' for v in values) + "}"


def process(rows, segmenter: Segmenter, extractor: Extractor, result: StageResult):
    """Clean, segment and extract a chunk of (doc_id, ..., body) rows: the two COPY payloads."""
    docs: dict[str, list] = {k: [] for k in (
        "doc_id", "source_system", "source_table", "source_record_id", "column_name",
        "known_at", "length_chars", "flags", "word_count", "body", "words")}  # fmt: skip
    reqs: dict[str, list] = {k: [] for k in (
        "doc_id", "seq", "property", "comparator", "value_si", "value_high_si", "si_unit",
        "value_written", "unit_written", "is_measured", "family")}  # fmt: skip
    for doc_id, src, tab, rec, col, known_at, body in rows:
        c = clean(body)
        for flag in c.flags:
            result.flags[flag] = result.flags.get(flag, 0) + 1
        words = segmenter.words(c.text) if c.usable else []
        if not c.usable:
            result.documents_skipped += 1
        for name, v in zip(docs, (doc_id, src, tab, rec, col, known_at.isoformat(), c.length,
                                  _pg_array(c.flags), len(words), c.text, " ".join(words)),
                           strict=True):  # fmt: skip
            docs[name].append(v)
        if not c.usable:
            continue
        for seq, r in enumerate(extractor.extract(c.text)):
            high = None if r.value_high_si is None else repr(r.value_high_si)
            measured = "t" if r.is_measured else "f"
            row = (doc_id, seq, r.property, r.comparator, repr(r.value_si), high, r.si_unit,
                   r.value_written, r.unit_written, measured, r.family)  # fmt: skip
            for name, v in zip(reqs, row, strict=True):
                reqs[name].append(v)
    return docs, reqs


def run(
    dsn: str | None = None, *, new_topics: int = NEW_TOPICS, progress: bool = False
) -> StageResult:
    """Bring texts.* up to date with staging.stg_text__documents (see the module docstring)."""
    t0 = time.perf_counter()
    result = StageResult()
    segmenter, extractor = Segmenter(), Extractor()
    with db.connect(dsn) as conn:
        if conn.execute("select to_regnamespace(%s)", (SCHEMA,)).fetchone()[0] is None:
            raise RuntimeError(
                f"schema {SCHEMA} does not exist: run the role migration first "
                "(`portrait warehouse up`, or any DAG's `roles` task)."
            )
        conn.execute(DDL)
        if not db.relation_exists(conn, "staging", "stg_text__documents"):
            raise RuntimeError(
                f"{SOURCE} does not exist: build the staging models first "
                "(`dbt build --select path:models/staging`)."
            )
        # the view (a hash over every version of every free text) evaluated once per run
        conn.execute(f"create temp table staged_documents on commit drop as select * from {SOURCE}")
        conn.execute("create index on staged_documents (doc_id)")
        result.documents_seen = conn.execute("select count(*) from staged_documents").fetchone()[0]
        result.documents_deleted = conn.execute(
            "delete from texts.documents as t where not exists "
            "(select 1 from staged_documents as s where s.doc_id = t.doc_id)"
        ).rowcount
        t = time.perf_counter()
        # a server-side cursor in the same transaction: it reads the snapshot of its
        # declaration, so the rows COPY adds meanwhile do not disturb it
        new = conn.cursor(name="texts_new_documents")
        new.execute(
            "select doc_id, source_system, source_table, source_record_id, column_name, "
            "known_at, body from staged_documents as s where not exists "
            "(select 1 from texts.documents as t where t.doc_id = s.doc_id) order by doc_id"
        )
        bar = tqdm(desc="texts", unit="doc", disable=not progress)
        while batch := new.fetchmany(CHUNK):
            docs, reqs = process(batch, segmenter, extractor, result)
            db.copy_columns(conn, sql.Identifier(SCHEMA, "documents"), docs)
            result.requirements_new += db.copy_columns(
                conn, sql.Identifier(SCHEMA, "requirements"), reqs
            )
            result.documents_new += len(batch)
            bar.update(len(batch))
        bar.close()
        new.close()
        result.timings["documents"] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()
        result.topics = _refit_topics(conn, segmenter, new_topics)
        result.timings["topics"] = round(time.perf_counter() - t, 3)
        result.seconds = round(time.perf_counter() - t0, 3)
        conn.execute(
            "insert into texts.runs (documents_seen, documents_new, documents_deleted, "
            "documents_skipped, flags, requirements_new, topics, seconds) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s)",
            (result.documents_seen, result.documents_new, result.documents_deleted,
             result.documents_skipped, json.dumps(result.flags), result.requirements_new,
             result.topics, result.seconds),
        )  # fmt: skip
    return result


def _refit_topics(conn, segmenter: Segmenter, new_topics: int) -> int:
    rows = conn.execute(
        "select doc_id, words from texts.documents where word_count > 0 order by doc_id"
    ).fetchall()
    ids = [r[0] for r in rows]
    found = discover(ids, [segmenter.topic_words_of(r[1]) for r in rows], new_topics)
    conn.execute("delete from texts.document_topics")
    conn.execute("delete from texts.topics")
    keep = found.assignment >= 0
    db.copy_columns(conn, sql.Identifier(SCHEMA, "document_topics"), {
        "doc_id": [i for i, kept in zip(ids, keep, strict=True) if kept],
        "topic_id": found.assignment[keep],
        "weight": found.weight[keep].astype(np.float64),
    })  # fmt: skip
    for t in found.topics:
        conn.execute(
            "insert into texts.topics values (%s, %s, %s, %s, %s, %s, %s)",
            (t.topic_id, t.code, t.name_zh, t.name_en, list(t.top_terms),
             [ids[r] for r in t.representatives], t.documents),
        )  # fmt: skip
    return len(found.topics)
