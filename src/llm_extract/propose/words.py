"""Word boundaries from a real segmenter: jieba (MIT), whose dictionary ships inside the package,
so nothing is fetched at run time. Pure functions over text; one tokenizer per process.

Names are cut at word boundaries, and whether a classifier's character begins a longer word
(部署, 处理, 条例) is jieba's question too, rather than another hand-written list of words.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator

import jieba
import jieba.posseg

# jieba logs its dictionary loading at DEBUG to stderr; a run's output is ours.
jieba.setLogLevel(logging.WARNING)


def segmenter_version() -> str:
    """What, besides our code, decides segmentations: the segmenter and its bundled dictionary."""
    return f"jieba-{jieba.__version__}"


@functools.cache
def _tokenizer() -> jieba.Tokenizer:
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


@functools.cache
def _tagger() -> jieba.posseg.POSTokenizer:
    return jieba.posseg.POSTokenizer(_tokenizer())


# Names ask about the same sentence many times within one document (about 60 distinct texts
# a report); across documents texts differ. A small bound keeps the memo to a document's worth,
# so a run of thousands holds no more than a run of ten (tests/test_scale.py counts objects).
_MEMO = 256


@functools.lru_cache(maxsize=_MEMO)
def spans(text: str) -> tuple[tuple[int, int], ...]:
    """(start, end) of each word of text, in order, covering it. Dictionary words only (no HMM):
    the HMM guesses words for unknown characters and glues a classifier to an unknown noun
    (个嘎查), where a boundary is what is asked."""
    out = []
    at = 0
    for word in _tokenizer().cut(text, HMM=False):
        out.append((at, at + len(word)))
        at += len(word)
    return tuple(out)


def words(text: str) -> list[str]:
    return [text[s:e] for s, e in spans(text)]


@functools.lru_cache(maxsize=_MEMO)
def tagged(text: str) -> tuple[tuple[str, str], ...]:
    """(word, part-of-speech tag) pairs in jieba's tag set (n noun, v verb, d adverb, t time …)."""
    return tuple((pair.word, pair.flag) for pair in _tagger().cut(text))


def boundaries(text: str) -> frozenset[int]:
    """Offsets at which a word starts or ends (0 and len(text) included)."""
    found = {0, len(text)}
    for start, end in spans(text):
        found.add(start)
        found.add(end)
    return frozenset(found)


def is_word(text: str) -> bool:
    """Whether text is a word of the segmenter's dictionary."""
    return _tokenizer().FREQ.get(text, 0) > 0


def splits_compound(text: str, pos: int) -> bool:
    """Whether pos, inside a dictionary word, parts it into two words of at least two characters
    each (充分|发挥, 依法|查处): a compound of words, not one word cut."""
    start, end = word_at(text, pos)
    left, right = text[start:pos], text[pos:end]
    return min(len(left), len(right)) >= 2 and is_word(left) and is_word(right)


def word_at(text: str, pos: int) -> tuple[int, int]:
    """The word holding offset pos."""
    for start, end in spans(text):
        if start <= pos < end:
            return start, end
    return pos, pos


def iter_words(text: str, start: int = 0) -> Iterator[tuple[int, int]]:
    for s, e in spans(text):
        if s >= start:
            yield s, e
