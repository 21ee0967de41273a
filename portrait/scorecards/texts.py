"""The text stage against the simulator's truth (``text`` in reports/quality.json):
requirement extraction (precision, recall, F1: property, comparator, value and unit all
right), topic recovery (NMI and adjusted Rand against the true topics), each beside a
keyword baseline measured on the same texts in the same run.

Reads the world's landing files and truth/texts.csv and runs the stage's own functions
(texts.stage.process, texts.topics.discover) on them: the figures are the stage's, without a
warehouse. The semantic tags are judged in the warehouse (``tags_quality``).
"""

from __future__ import annotations

import csv
import json
import math
import re
import sys
from collections import Counter
from pathlib import Path

from sources.contract import load_contract
from texts.clean import clean
from texts.lexicon import load_lexicon
from texts.requirements import Extractor
from texts.segment import Segmenter
from texts.topics import discover, keyword_topics

csv.field_size_limit(sys.maxsize)  # a pasted log of 100 kB is a legitimate cell


def texts_truth(truth_dir: Path) -> dict[tuple[str, str, str, str], dict]:
    """truth/texts.csv by (source, table, record key, column)."""
    with open(truth_dir / "texts.csv", encoding="utf-8", newline="") as fh:
        return {(r["source"], r["table"], r["record_key"], r["column"]): r
                for r in csv.DictReader(fh)}  # fmt: skip


def world_texts(world: Path) -> list[dict]:
    """Every free text of the world's landing files with its truth (one per record, column
    and distinct text, as staging lists them), in file order."""
    truth = texts_truth(world / "truth")
    out, seen = [], set()
    for src in load_contract().sources:
        for tab in src.tables:
            if not tab.free_text_columns:
                continue
            for path in sorted((world / "landing" / src.name).glob(f"*/{tab.name}.csv")):
                with open(path, encoding=src.encoding, newline="") as fh:
                    for row in csv.DictReader(fh):
                        key = "|".join(row[k] for k in tab.key)
                        for col in tab.free_text_columns:
                            text = row.get(col) or ""
                            if not text or (key, col, text) in seen:
                                continue
                            seen.add((key, col, text))
                            t = truth.get((src.name, tab.name, key, col))
                            if t is not None:
                                out.append({"text": text, **t})
    return out


def _key(property: str, comparator: str, value: float, high: float | None, unit: str):
    def r(x):
        return None if x is None else float(f"{x:.6g}")

    return (property, comparator, r(value), r(high), unit)


def _prf(true: Counter, found: Counter) -> dict:
    tp = sum((true & found).values())
    p = tp / max(1, sum(found.values()))
    rc = tp / max(1, sum(true.values()))
    f1 = 0.0 if p + rc == 0 else 2 * p * rc / (p + rc)
    return {"precision": round(p, 4), "recall": round(rc, 4), "f1": round(f1, 4),
            "true": sum(true.values()), "found": sum(found.values()), "right": tp}  # fmt: skip


class KeywordRequirements:
    """The baseline: a property's first name, the number after it and the unit written right
    after (exactly as the lexicon spells it), comparator from ≥ ≤ > < only (else eq)."""

    SIGNS = (("≥", "ge"), (">=", "ge"), ("≤", "le"), ("<=", "le"), (">", "gt"), ("<", "lt"))

    def __init__(self):
        self.lx = load_lexicon()
        self.pattern = re.compile(r"(≥|>=|≤|<=|>|<)?\s*(\d+(?:\.\d+)?)\s*([^\s\d,，。;；]{0,12})")

    def extract(self, text: str) -> list[tuple]:
        out = []
        for prop in self.lx.properties.values():
            for name in prop.names:
                i = text.find(name)
                if i < 0:
                    continue
                m = self.pattern.search(text, i + len(name), i + len(name) + 12)
                if m:
                    unit = next((u for u in prop.units if m.group(3).startswith(u)), None)
                    if unit is not None:
                        cmp = dict(self.SIGNS).get(m.group(1) or "", "eq")
                        out.append(_key(prop.code, cmp, prop.to_si(float(m.group(2)), unit),
                                        None, prop.si_unit))  # fmt: skip
                break
        return out


def requirement_quality(docs: list[dict]) -> dict:
    extractor, baseline = Extractor(), KeywordRequirements()
    true, ours, base = Counter(), Counter(), Counter()
    per_property: dict[str, tuple[Counter, Counter]] = {}
    for i, d in enumerate(docs):
        want = [(i, *_key(r["property"], r["comparator"], r["value"], r["value_high"], r["unit"]))
                for r in json.loads(d["requirements"] or "[]")]  # fmt: skip
        c = clean(d["text"])
        got = [] if not c.usable else [
            (i, *_key(r.property, r.comparator, r.value_si, r.value_high_si, r.si_unit))
            for r in extractor.extract(c.text) if not r.is_measured
        ]  # fmt: skip
        true.update(want)
        ours.update(got)
        base.update((i, *k) for k in baseline.extract(d["text"]))
        for k in want + got:
            per_property.setdefault(k[1], (Counter(), Counter()))
        for k in want:
            per_property[k[1]][0][k] += 1
        for k in got:
            per_property[k[1]][1][k] += 1
    return {
        "ours": _prf(true, ours),
        "baseline": _prf(true, base),
        "per_property": {p: _prf(t, f)["f1"] for p, (t, f) in sorted(per_property.items())},
    }


def topic_quality(docs: list[dict]) -> dict:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    seg = Segmenter()
    judged = [d for d in docs if d["topic"]]
    words = []
    for d in judged:
        c = clean(d["text"])
        words.append(seg.topic_words(c.text) if c.usable else [])
    found = discover([f"{d['source']}|{d['record_key']}|{d['column']}" for d in judged], words)
    truth = [d["topic"] for d in judged]
    ours = [found.topics[a].code if a >= 0 else "" for a in found.assignment]
    base = keyword_topics(words)
    named = Counter(ours)
    return {
        "documents": len(judged),
        "nmi": round(float(normalized_mutual_info_score(truth, ours)), 4),
        "ari": round(float(adjusted_rand_score(truth, ours)), 4),
        "nmi_baseline": round(float(normalized_mutual_info_score(truth, base)), 4),
        "ari_baseline": round(float(adjusted_rand_score(truth, base)), 4),
        "named_right": round(sum(map(str.__eq__, ours, truth)) / max(1, len(truth)), 4),
        "topics": [
            {"code": t.code, "documents": t.documents, "top_terms": list(t.top_terms[:6])}
            for t in found.topics
        ],
        "assigned": dict(named.most_common()),
    }


def texts_quality(world: Path) -> dict:
    docs = world_texts(world)
    if not docs:
        return {"status": "missing", "reason": f"{world}/truth/texts.csv has no text"}
    req = requirement_quality(docs)
    top = topic_quality(docs)
    out = {
        "documents": len(docs),
        "requirement_f1": req["ours"]["f1"],
        "requirement_f1_baseline": req["baseline"]["f1"],
        "requirement_precision": req["ours"]["precision"],
        "requirement_recall": req["ours"]["recall"],
        "topic_nmi": top["nmi"],
        "topic_nmi_baseline": top["nmi_baseline"],
        "topic_ari": top["ari"],
        "topic_ari_baseline": top["ari_baseline"],
        "requirements": req,
        "topics": top,
    }
    assert not any(isinstance(v, float) and math.isnan(v) for v in out.values())
    return out


# The semantic tags and the simulated customers' true concerns they claim (truth/concerns.csv),
# and the keyword baseline's rule for each, the catalog's counting on keyword topics: at least
# that many texts of the topic, and at least that share of the customer's texts.
TAG_CONCERNS = {
    "text_performance_focus": ("performance", "spec_requirement", 2, 0.4),
    "text_price_sensitive": ("price", "price_negotiation", 2, 0.1),
    "text_delivery_sensitive": ("delivery", "delivery_delay", 1, 0.25),
    "text_packaging_demand": ("packaging", "packaging_damage", 2, 0.1),
    "text_codev_intent": ("codev", "codevelopment", 2, 0.05),
}
MIN_TEXTS = 3  # customers judged: at least this many usable texts in the 365 days


def _confusion(judged, has, concerned) -> Counter:
    """tp, fp, fn of a tag (`has`) against the true concern (`concerned`) over `judged`."""
    out = Counter(tp=0, fp=0, fn=0)
    for c in judged:
        tagged, yes = has(c), concerned(c)
        out.update(tp=tagged and yes, fp=tagged and not yes, fn=yes and not tagged)
    return out


def _rates(n: Counter) -> dict:
    return {"precision": round(n["tp"] / max(1, n["tp"] + n["fp"]), 4),
            "recall": round(n["tp"] / max(1, n["tp"] + n["fn"]), 4)}  # fmt: skip


CEILING_SHARES = tuple(s / 100 for s in range(0, 65, 5))
CEILING_COUNTS = (1, 2, 3, 4)


def _ceiling(judged, true_counts, written, topic, concerned) -> dict:
    """The best a rule of the catalog's kind (at least n texts of the topic and at least that
    share of the customer's texts) could do with every text's topic right: thresholds chosen on
    the truth for the best F1. Not a bound on every method, but on any that reads a customer's
    concern off the topics of what it wrote; when it is below a goal, the world's customers do
    not write their concerns clearly enough for that goal."""
    best = None
    for n in CEILING_COUNTS:
        for share in CEILING_SHARES:

            def has(c, n=n, share=share):
                return true_counts[(c, topic)] >= max(n, share * written[c])

            counts = _confusion(judged, has, concerned)
            f1 = 2 * counts["tp"] / max(1, 2 * counts["tp"] + counts["fp"] + counts["fn"])
            if best is None or f1 > best[0]:
                best = (f1, n, share, counts)
    f1, n, share, counts = best
    return {**_rates(counts), "f1": round(f1, 4), "at_least": n, "share": share,
            "counts": counts}  # fmt: skip


def tags_quality(dsn: str, truth_dir: Path) -> dict:
    """The semantic tags at the latest snapshot against the true concerns, over customers with
    MIN_TEXTS usable texts in the year before (the others have not written enough to judge);
    the keyword baseline (same counting, keyword topics) beside them."""
    from portrait import db
    from portrait.scorecards.models import cid_companies
    from portrait.settings import get_settings

    concerns = {}
    with open(truth_dir / "concerns.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            concerns[row["company_id"]] = set(filter(None, row["concerns"].split(";")))
    companies = cid_companies(dsn, truth_dir)
    with db.connect(dsn) as conn:
        (as_of,) = conn.execute("select max(as_of_date) from features.customer_features").fetchone()
        judged = [r[0] for r in conn.execute(
            "select cid from features.customer_features where as_of_date = %s "
            "and text_usable_documents_365d >= %s", (as_of, MIN_TEXTS)).fetchall()]  # fmt: skip
        tagged = conn.execute(
            "select cid, tag_code from tags.customer_rule_tags where as_of_date = %s "
            "and tag_code = any(%s)", (as_of, list(TAG_CONCERNS))).fetchall()  # fmt: skip
        # the texts of the year before the snapshot's cutoff (midnight after it, business time)
        docs = conn.execute(
            "select l.cid, d.words, l.source_system, l.source_table, l.source_record_id, "
            "l.column_name from features.int_text_documents_linked as l "
            "join texts.documents as d using (doc_id), "
            "(select (%s::date + 1)::timestamp at time zone %s as cutoff) as c "
            "where d.word_count > 0 and l.known_at <= c.cutoff "
            "and l.known_at > c.cutoff - interval '365 days'",
            (as_of, get_settings().business_timezone),
        ).fetchall()
    judged = [c for c in judged if c in companies]
    ours = {(c, t) for c, t in tagged}
    seg = Segmenter()
    topic_of = keyword_topics([seg.topic_words_of(d[1]) for d in docs])
    counts = Counter((d[0], t) for d, t in zip(docs, topic_of, strict=True) if t)
    written = Counter(d[0] for d in docs)
    truth = texts_truth(truth_dir)
    true_counts = Counter((d[0], truth[d[2:]]["topic"]) for d in docs if d[2:] in truth)
    out: dict = {"as_of_date": str(as_of), "customers_judged": len(judged), "tags": {}}
    totals = {"ours": Counter(), "baseline": Counter(), "ceiling": Counter()}
    for tag, (concern, topic, at_least, share) in TAG_CONCERNS.items():

        def baseline(c, topic=topic, n=at_least, share=share):
            return counts[(c, topic)] >= max(n, share * written[c])

        def concerned(c, concern=concern):
            return concern in concerns.get(companies[c], ())

        row = {}
        for name, has in (("ours", lambda c, tag=tag: (c, tag) in ours), ("baseline", baseline)):
            n = _confusion(judged, has, concerned)
            totals[name].update(n)
            row[name] = {**_rates(n), "tagged": n["tp"] + n["fp"]}
        row["ceiling"] = _ceiling(judged, true_counts, written, topic, concerned)
        totals["ceiling"].update(row["ceiling"].pop("counts"))
        out["tags"][tag] = row
    for name, n in totals.items():
        suffix = "" if name == "ours" else f"_{name}"
        for key, value in _rates(n).items():
            out[f"tag_{key}{suffix}"] = value
    return out


def text_section(dsn: str, truth_dir: Path, settings=None) -> dict:
    """The ``text`` section: extraction and topics on the world's texts, the semantic tags in
    its warehouse. With `settings` (``--worlds``) the default model world (built by the models
    section just before), else the demo world."""
    from portrait import db

    if settings is not None:
        from portrait.scorecards.worlds import scratch_dsn

        root = settings.local_dir / "worlds" / "model_default" / "data"
        world, world_dsn, truth = root, scratch_dsn(dsn, "model_default"), root / "truth"
        where = "model world default"
    else:
        world, world_dsn, truth, where = Path(truth_dir).parent, dsn, Path(truth_dir), "demo"
    if not (truth / "texts.csv").exists():
        return {"status": "missing", "reason": f"{truth}/texts.csv does not exist ({where})"}
    out = {"world": where, **texts_quality(world)}
    with db.connect(world_dsn) as conn:
        built = db.relation_exists(conn, "tags", "customer_rule_tags") and db.relation_exists(
            conn, "texts", "documents"
        )
    if built:
        out.update(tags_quality(world_dsn, truth))
    else:
        out["tags_status"] = f"the {where} warehouse has no texts.documents or rule tags"
    return out
