"""Words of a text: jieba with the domain dictionary (lexicon/), lower-cased, without
numbers, punctuation and stop words. One tokenizer per process, built on first use (never at
import: DAG parsing imports nothing of this)."""

from __future__ import annotations

import functools
import logging
import re

from texts.lexicon import Lexicon, load_lexicon

_KEEP = re.compile(r"[a-z\u4e00-\u9fff\u3400-\u4dbf]")
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
_NUMBER = re.compile(r"^[\d.,%+\-~/]+$")


@functools.cache
def _tokenizer(words: tuple[str, ...]):
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.initialize()
    for w in words:
        tok.add_word(w, freq=200_000)
    return tok


class Segmenter:
    def __init__(self, lexicon: Lexicon | None = None):
        self.lexicon = lexicon or load_lexicon()
        self._tok = _tokenizer(tuple(self.lexicon.words()))

    def cut(self, text: str) -> list[str]:
        """All pieces jieba finds (the bench's "segmentation alone")."""
        return self._tok.lcut(text, HMM=False)

    @functools.cached_property
    def property_words(self) -> frozenset[str]:
        """Property names and unit spellings, lower-cased: what requirements capture."""
        lx = self.lexicon
        out = {n.lower() for p in lx.properties.values() for n in p.names}
        out |= {u.lower() for p in lx.properties.values() for u in p.units}
        return frozenset(out)

    def topic_words(self, text: str) -> list[str]:
        """The words topics are found from: content words without property names and units
        (which property a text names is its requirements' business, not its topic's)."""
        return self.topic_words_of(" ".join(self.words(text)))

    def topic_words_of(self, stored: str) -> list[str]:
        """topic_words from the space-separated words texts.documents stores."""
        skip = self.property_words
        return [w for w in stored.split(" ") if w and w not in skip]

    def words(self, text: str) -> list[str]:
        """The content words of `text`, lower-cased, in order."""
        out = []
        stop = self.lexicon.stop_words
        for piece in self._tok.lcut(_DIGITS.sub(" ", text.lower()), HMM=False):
            piece = piece.strip()
            if (
                not piece
                or piece in stop
                or _NUMBER.match(piece)
                or not _KEEP.search(piece)
                or (len(piece) == 1 and piece.isascii())
            ):
                continue
            out.append(piece)
        return out
