"""Whether a metric name says what is counted: a check a reader makes without gold. Pure functions.

A name fails when it is shorter than two characters, when it is only a measure (a unit or a rate
word, alone or after words that name nothing: 件数, %, 了次数, 开展次数), or when it starts or ends
inside a word of the sentence it was cut from (务公开 from 政务公开), words as the segmenter
(`words`) draws them. Char-F1 against gold says how close a name is; this says how often a name
is broken, and needs no gold, so it can be measured on any report.
"""

from __future__ import annotations

from llm_extract.propose.lexicon import CHANGE_WORDS, LIGHT_VERBS, MEASURE_SUFFIX, TIME_WORDS, TOTALISERS, UNITS
from llm_extract.propose.words import boundaries, splits_compound, tagged

SHORT = "shorter than two characters"
MEASURE_ONLY = "only a unit or a rate word"
CUT = "starts or ends inside a word"

# Words that say how much or at what rate, never what: the measure half of a name.
MEASURE_WORDS = tuple(sorted({*UNITS, *MEASURE_SUFFIX.values(), *CHANGE_WORDS.values(), "%", "％", "率", "比例",
                              "比率", "占比", "数", "数量", "总数", "总量", "次数", "件数", "人数", "户数", "个数",
                              "金额", "总额", "数额"}, key=len, reverse=True))
# Parts of speech that name nothing (jieba's tags): adverbs, time words, prepositions, conjunctions,
# particles, pronouns, numerals, classifiers, directions, punctuation.
EMPTY_TAGS = ("d", "t", "p", "c", "u", "r", "m", "q", "f", "x", "y", "e", "o")
SENTENCE_END = "。；;！？!?\n"
MIN_PIECE = 2


def name_defect(name: str, text: str, start: int, end: int) -> str | None:
    """Why the name of the metric quoted at text[start:end] is broken, or None."""
    bare = "".join(name.split())
    if len(bare) < MIN_PIECE:
        return SHORT
    if measure_only(bare):
        return MEASURE_ONLY
    if _cut(bare, *_sentence(text, start, end)):
        return CUT
    return None


def measure_only(name: str) -> bool:
    """Whether the name is a measure alone, or after words that name nothing (件数, 开展次数)."""
    return names_nothing(_strip_measure(name))


def names_nothing(words_: str) -> bool:
    """Whether these words (what is left of a name without its measure) name nothing."""
    if not words_:
        return True
    empty = {*LIGHT_VERBS, *TIME_WORDS, *TOTALISERS, "了", "的", "为", "达", "是", "有"}
    return all(word in empty or flag.startswith(EMPTY_TAGS) for word, flag in tagged(words_))


def _strip_measure(name: str) -> str:
    """The name without the measure words it ends in (受理件数 → 受理; 满意率 stays: 满意 is a word)."""
    stripped = name
    changed = True
    while changed and stripped:
        changed = False
        for word in MEASURE_WORDS:
            if stripped.endswith(word):
                stripped = stripped[: -len(word)]
                changed = True
                break
    return stripped


def _strip_one_measure(name: str) -> str:
    for word in MEASURE_WORDS:
        if name.endswith(word):
            return name[: -len(word)]
    return name


def _sentence(text: str, start: int, end: int) -> tuple[str, int, int]:
    """The sentence holding text[start:end], and the span's offsets in it."""
    first = max(text.rfind(ch, 0, start) for ch in SENTENCE_END) + 1
    last = min((at for ch in SENTENCE_END if (at := text.find(ch, end)) >= 0), default=len(text))
    return text[first:last], start - first, end - first


def _cut(name: str, sentence: str, start: int, end: int) -> bool:
    """Whether the name's first or last words, where the sentence has them, stop inside a word."""
    bounds = boundaries(sentence)
    head = _longest_piece(name, sentence, start, prefix=True)
    if head is not None and not _at_boundary(sentence, head[0], bounds):
        return True
    core = name
    while core:
        tail = _longest_piece(core, sentence, start, prefix=False)
        if tail is not None:
            return not _at_boundary(sentence, tail[1], bounds)
        shorter = _strip_one_measure(core)
        if shorter == core:
            return False
        core = shorter  # a measure code added (次数, 人数): judge the words it was added to
    return False


def _at_boundary(sentence: str, pos: int, bounds: frozenset[int]) -> bool:
    return pos in bounds or splits_compound(sentence, pos)


def _longest_piece(name: str, sentence: str, anchor: int, prefix: bool) -> tuple[int, int] | None:
    """Where the longest prefix (or suffix) of name of at least two characters stands in the
    sentence, the occurrence nearest the quote."""
    for size in range(len(name), MIN_PIECE - 1, -1):
        piece = name[:size] if prefix else name[-size:]
        found = []
        at = sentence.find(piece)
        while at >= 0:
            found.append(at)
            at = sentence.find(piece, at + 1)
        if found:
            best = min(found, key=lambda a: abs(a - anchor))
            return best, best + size
    return None
