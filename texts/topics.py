"""Topics of what customers write: the named topics of lexicon/topics.yml found by a seeded
classifier, and themes nobody named yet discovered among the rest (classical, deterministic,
inspectable: a topic is its top terms and representative texts).

1. Seeds: a document whose words hold more terms of one named topic than of any other is
   that topic's seed (keyword_topics, also the baseline).
2. A multinomial naive Bayes on the seeds' word counts gives every document a posterior over
   the named topics (one EM step of Nigam et al., "Text classification from labeled and
   unlabeled documents using EM", 2000: it learns the words that come with the seed terms).
3. Documents it cannot place (posterior below MIN_POSTERIOR) go to NMF over their TF-IDF,
   whose topics are named by their top terms (topic_<n>): what the lexicon lacks, to read and
   name (docs/text.md, "Adding a topic name").
Fitted on at most FIT_DOCUMENTS documents (a stable sample by document id), applied to all.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from texts.lexicon import Lexicon, load_lexicon

FIT_DOCUMENTS = 50_000
TOP_TERMS = 10
REPRESENTATIVES = 3
MIN_POSTERIOR = 0.5  # below it a document is not placed in a named topic
NEW_TOPICS = 4  # NMF topics among the documents no named topic takes
MIN_DF = 3


@dataclass(frozen=True)
class TopicInfo:
    topic_id: int
    code: str  # a lexicon topic code, or topic_<id> for a discovered one
    name_zh: str
    name_en: str
    top_terms: tuple[str, ...]
    representatives: tuple[int, ...]  # positions of the documents most of this topic
    documents: int


@dataclass
class TopicResult:
    topics: list[TopicInfo]
    assignment: np.ndarray  # topic id per document, -1: no topic (no known word)
    weight: np.ndarray  # the document's posterior (named) or NMF share (discovered)


def _sample(ids: Sequence[str], n: int) -> np.ndarray:
    if len(ids) <= n:
        return np.arange(len(ids))
    keys = np.fromiter((zlib.crc32(i.encode()) for i in ids), dtype=np.int64, count=len(ids))
    return np.sort(np.argsort(keys, kind="stable")[:n])


def keyword_topics(words: Sequence[Sequence[str]], lexicon: Lexicon | None = None) -> list[str]:
    """The baseline and the seeds: each document's named topic with the most of its terms,
    "" when none or a tie."""
    lexicon = lexicon or load_lexicon()
    term_topic: dict[str, list[str]] = {}
    for code, topic in lexicon.topics.items():
        for t in topic.terms:
            term_topic.setdefault(t.lower(), []).append(code)
    out = []
    for doc in words:
        counts: dict[str, int] = {}
        for w in doc:
            for code in term_topic.get(w, ()):
                counts[code] = counts.get(code, 0) + 1
        ranked = sorted(counts.values(), reverse=True)
        if not ranked or (len(ranked) > 1 and ranked[0] == ranked[1]):
            out.append("")
        else:
            out.append(max(counts, key=counts.__getitem__))
    return out


def discover(
    doc_ids: Sequence[str],
    words: Sequence[Sequence[str]],
    new_topics: int = NEW_TOPICS,
    *,
    lexicon: Lexicon | None = None,
    seed: int = 0,
) -> TopicResult:
    """Topics of the documents (`words`: each document's segmented words)."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.naive_bayes import MultinomialNB

    lexicon = lexicon or load_lexicon()
    n = len(words)
    assignment = np.full(n, -1, dtype=np.int64)
    weight = np.zeros(n)
    has_words = np.array([len(w) > 0 for w in words], dtype=bool)
    fit_pos = [i for i in _sample(doc_ids, FIT_DOCUMENTS) if has_words[i]]
    if len(fit_pos) < MIN_DF:
        return TopicResult([], assignment, weight)
    vec = CountVectorizer(analyzer=lambda d: d, min_df=min(MIN_DF, len(fit_pos)), max_df=0.6)
    try:
        x_fit = vec.fit_transform([words[i] for i in fit_pos])
    except ValueError:  # every word too rare or too common
        return TopicResult([], assignment, weight)
    terms = vec.get_feature_names_out()
    x = vec.transform(words)
    codes = list(lexicon.topics)
    seeds = keyword_topics([words[i] for i in fit_pos], lexicon)
    seeded = [j for j, s in enumerate(seeds) if s]
    topics: list[TopicInfo] = []
    placed = np.zeros(n, dtype=bool)
    classes = sorted({seeds[j] for j in seeded})
    if len(classes) >= 2:
        nb = MultinomialNB(alpha=0.1).fit(x_fit[seeded], [codes.index(seeds[j]) for j in seeded])
        post = nb.predict_proba(x)
        best = post.argmax(axis=1)
        placed = has_words & (post.max(axis=1) >= MIN_POSTERIOR) & (x.getnnz(axis=1) > 0)
        # a topic's terms: the words most more likely in it than in the others
        lift = nb.feature_log_prob_ - np.log(np.exp(nb.feature_log_prob_).mean(axis=0))
        for c, code_index in enumerate(nb.classes_):
            members = np.nonzero(placed & (best == c))[0]
            reps = members[np.argsort(-post[members, c], kind="stable")[:REPRESENTATIVES]]
            t = lexicon.topics[codes[code_index]]
            topic_id = len(topics)
            assignment[members] = topic_id
            weight[members] = post[members, c]
            top = tuple(terms[np.argsort(-lift[c])[:TOP_TERMS]])
            topics.append(TopicInfo(topic_id, t.code, t.zh, t.en, top,
                                    tuple(int(r) for r in reps), int(members.size)))  # fmt: skip
    rest = np.nonzero(has_words & ~placed & (x.getnnz(axis=1) > 0))[0]
    topics += _new_topics(x, rest, terms, new_topics, seed, assignment, weight, len(topics))
    return TopicResult(topics, assignment, weight)


def _new_topics(x, rest, terms, k, seed, assignment, weight, first_id) -> list[TopicInfo]:
    """NMF over the TF-IDF of the documents no named topic took (in place: their assignment
    and weight); each topic named by its top terms."""
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfTransformer

    k = min(k, len(rest) // 10)
    if k < 1:
        return []
    tfidf = TfidfTransformer(sublinear_tf=True).fit_transform(x[rest])
    nmf = NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=400)
    w = nmf.fit_transform(tfidf)
    total = w.sum(axis=1)
    out = []
    for t in range(k):
        members = np.nonzero((w.argmax(axis=1) == t) & (total > 0))[0]
        share = np.divide(w[members, t], total[members])
        reps = rest[members[np.argsort(-share, kind="stable")[:REPRESENTATIVES]]]
        topic_id = first_id + t
        assignment[rest[members]] = topic_id
        weight[rest[members]] = share
        top = tuple(terms[np.argsort(-nmf.components_[t])[:TOP_TERMS]])
        name = "/".join(top[:3])
        out.append(TopicInfo(topic_id, f"topic_{topic_id}", name, name, top,
                             tuple(int(r) for r in reps), int(members.size)))  # fmt: skip
    return out
