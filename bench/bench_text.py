"""Benchmark: the text stage's work per document against segmentation alone, on the same
texts, at SF10 and SF100 (issue 18: the whole stage <= 2x segmentation; growth linear).

An SF10 world (1,000 companies, 36 months) is simulated; its free texts (every distinct text
of a record's column, as staging lists them) are the SF10 set, and ten copies of them under
new ids the SF100 set. On each, timed side by side:

    segmentation  jieba alone on the raw texts (texts.segment.Segmenter.cut)
    stage         what the text task computes: clean, segment, extract requirements, build
                  the rows (texts.stage.process), then the topics over all of them
                  (texts.topics.discover); the warehouse's COPY is the loader's business and
                  measured there

    ratio  = stage seconds / segmentation seconds     (goal <= 2)
    growth = (stage s/doc at SF100) / (stage s/doc at SF10)   (linear: ~1)
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

COPIES = (1, 10)


def _texts(work: Path) -> list[tuple]:
    from portrait.scorecards.texts import world_texts
    from sources.simulator import simulate

    simulate(work / "world", scale=10, seed=42, progress=False, oracle_replays=1)
    known = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    return [
        (f"{d['source']}|{d['record_key']}|{d['column']}", d["source"], d["table"],
         d["record_key"], d["column"], known, d["text"])
        for d in world_texts(work / "world")
    ]  # fmt: skip


def _one(rows: list[tuple]) -> dict:
    from texts.requirements import Extractor
    from texts.segment import Segmenter
    from texts.stage import StageResult, process
    from texts.topics import discover

    seg, ext = Segmenter(), Extractor()
    t0 = time.perf_counter()
    for r in rows:
        seg.cut(r[6])
    segmentation = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = StageResult()
    docs, _ = process(rows, seg, ext, result)
    words = [seg.topic_words_of(ws) for ws in docs["words"]]
    found = discover(docs["doc_id"], words)
    stage = time.perf_counter() - t0
    return {
        "documents": len(rows),
        "segmentation_docs_per_s": round(len(rows) / segmentation),
        "stage_docs_per_s": round(len(rows) / stage),
        "ratio": round(stage / segmentation, 3),
        "topics": len(found.topics),
    }


def run(work: Path) -> dict:
    base = _texts(work)
    out: dict = {}
    for copies in COPIES:
        rows = [(f"{k}|{r[0]}", *r[1:3], f"{k}{r[3]}", *r[4:]) for k in range(copies) for r in base]
        out[f"sf{10 * copies}"] = _one(rows)
    small, large = out["sf10"], out["sf100"]
    out["ratio"] = large["ratio"]
    out["growth"] = round(small["stage_docs_per_s"] / large["stage_docs_per_s"], 3)
    return out
