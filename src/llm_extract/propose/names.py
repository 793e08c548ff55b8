"""Code names for metrics: what is counted, cut from the report's own words. Pure functions.

The name is the counted thing, not the clause: time words (年内, 今年以来), totalisers (累计,
共计), scope words (全镇), enumerators (一是), manner adverbs (积极, 依法), light verbs (开展,
组织) and determiners (各类) are dropped, so "一是年内累计开展安全知识宣传 60 余次" is named
"安全知识宣传". Where the unit stands before its noun the noun is the counted thing
("成立19个镇级专项普法工作队" → "镇级专项普法工作队"); the second of two counts in one phrase
("接访22批22人次") is named from the first one's words ("接访人次"). This is the baseline
the model has to beat, and the fallback when a model's label belongs to another item.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from llm_extract.propose.candidates import Candidate, clause_start
from llm_extract.propose.lexicon import (
    AMOUNT_WORDS,
    CHANGE_WORDS,
    COMPARISON_WORDS,
    COMPLEMENTS,
    COMPOUND_CLASSIFIERS,
    CONJUNCTIONS,
    DETERMINERS,
    DUMMY_VERBS,
    ENUMERATOR_WORDS,
    ETC,
    EVENT_CLASSIFIERS,
    EXISTENCE_VERBS,
    GENERIC_HEADS,
    LIGHT_VERBS,
    LINKING_VERBS,
    LONE_PREPOSITIONS,
    MANNER_ADVERBS,
    MEANS_CLOSERS,
    MEASURE_HEADS,
    MEASURE_SUFFIX,
    MEASURE_UNITS,
    MONEY_NOUNS,
    MONEY_UNITS,
    NOT_ETC,
    NOT_ETC_BEFORE,
    NOT_REACH,
    NOUN_HEADS,
    PERSON_CLASSIFIERS,
    PERSON_NOUNS,
    PREDICATE_STARTS,
    PREPOSITION_CLOSERS,
    PREPOSITIONS,
    PURPOSE_VERBS,
    RATIO_UNITS,
    REACH,
    SCOPE_PREFIX,
    SCOPE_UNITS,
    SCOPE_WORDS,
    SELF_BODIES,
    SELF_REFERENCE,
    TIME_UNITS,
    TIME_WORDS,
    TOTALISERS,
    TRAILING_NOUN_MAX,
    VERB_CHARS,
)
from llm_extract.propose.namequality import measure_only, names_nothing
from llm_extract.propose.numbers import CN_CHARS, Quantity, find_quantities
from llm_extract.propose.words import spans as word_spans
from llm_extract.propose.words import tagged, words

QUOTE_MARKS = "“”\"‘’'《》「」『』〈〉"
STOP = "，。；：！？、,;:!?\n（()）“”\"《》"
# Units after which the next words are not the counted thing: money, measures, time and ratios
# ("罚款2万元用于…", "下降22%的").
NO_TRAILING_NOUN = (*MONEY_UNITS, *MEASURE_UNITS, *TIME_UNITS, *RATIO_UNITS)
SENTENCE_END = "。；;！？!?\n"
# Clauses of one sentence, as far as a clause that names nothing looks back for what it counts.
CLAUSE_SEPARATORS = "，,、：:"
CLAUSES_BACK = 2
# An object carried over is its head: the last words of the noun phrase (社区矫正对象 → 矫正对象).
OBJECT_WORDS = 2
# A bare verb: a name this short is an action and gets the measure it counts (执法 → 执法次数).
BARE_VERB_MAX = 2

# Verbs of setting up only say that the thing exists (配备网格员501名 → 网格员); one-character
# ones (有, 辖) are too ambiguous at the start of a name.
_SETTING_UP = tuple(w for w in EXISTENCE_VERBS if len(w) > 1)
_ENUMERATOR = re.compile(r"^(?:[一二三四五六七八九十]+是|其[一二三四五六七八九十]|第[一二三四五六七八九十]+[，,、]?)")


def _one_of(words: tuple[str, ...]) -> str:
    """A regex group matching any of words, longer words first, so a word wins over a shorter one it begins with."""
    return f"(?:{'|'.join(re.escape(w) for w in sorted(words, key=len, reverse=True))})"


_UNIT = _one_of(SCOPE_UNITS)
_SCOPE = re.compile(rf"^{SCOPE_PREFIX}{_UNIT}{{1,2}}")
_SELF = re.compile(f"^{_one_of(SELF_REFERENCE)}{_one_of(SELF_BODIES)}")
# Multi-character totalisers end a subject wherever they stand (我局共计办理… → 办理…); a bare 共
# only at the start, as it is also a morpheme (公共, 共同).
_INNER_TOTALISERS = tuple(w for w in TOTALISERS if len(w) > 1)
# Dates say when, wherever they stand (2023年查办… → 查办…).
_DATE = re.compile(r"[0-9０-９]{4}\s*年(?:度)?|[0-9０-９]{1,2}\s*月(?:份)?(?:[0-9０-９]{1,2}\s*日)?")
_ETC_SPLIT = re.compile(f"{ETC}(?![{NOT_ETC_BEFORE}])")
_SCOPE_ANYWHERE = re.compile(rf"{SCOPE_PREFIX}{_UNIT}(?:{_UNIT}|范围内|域内)?")


def code_name(text: str, candidate: Candidate) -> str:
    """A short name for what the candidate counts, from the words around its number."""
    quantity = candidate.quantity
    thing = _thing(text, candidate)
    if not thing:
        # The second of two counts in one phrase (22批|22人次) is about what the first one counts.
        first = _paired_with(text, candidate)
        if first is not None:
            return _with_measure(_thing(text, first), quantity.unit, paired=True)
    thing = _whole_words(text, candidate, _continued(text, candidate, thing))
    # The first of two counts in one phrase takes its measure too (进农村204余次|14250余人:
    # 进农村次数, 进农村人数), as the guide names pairs.
    return _with_measure(thing, quantity.unit, paired=_pair_follows(text, quantity)) or quantity.unit


def _continued(text: str, candidate: Candidate, thing: str) -> str:
    """A clause that does not say what it counts continues the one before it in its sentence:
    its subject or object is there. Words that name nothing (先后, 开展了) give way to what the
    clause before names (组织班子成员集中学习宪法，先后9次 → 班子成员集中学习宪法); a bare verb
    gets the object the clause before acted on (受理群众来信36件，已办结31件 → 群众来信办结)."""
    nothing = measure_only(thing)
    if not nothing and not _bare_verb(thing, candidate.quantity.unit):
        return thing
    if nothing:
        return _clause_before(text, candidate.quote_start, lambda words: words) or thing
    counted = _clause_before(text, candidate.quote_start, _object_of)
    return counted + thing if counted and not thing.startswith(counted) else thing


def _whole_words(text: str, candidate: Candidate, name: str) -> str:
    """The name moved to word boundaries where it was cut inside a word of its sentence: a
    partial first word is completed (务公开 → 政务公开), unless the cleaner cut it on purpose
    (依法查处 → 查处) or drops it anyway; a partial last word is completed up to the number."""
    sentence = max(text.rfind(ch, 0, candidate.quote_start) for ch in SENTENCE_END) + 1
    source = text[sentence:candidate.quote_end]
    at = source.rfind(name)
    if not name or at < 0:
        return name
    end = at + len(name)
    spans_ = word_spans(source)
    for start, stop in spans_:
        if start < at < stop:
            whole, cleaned = source[start:stop], clean_lead(source[start:stop])
            if cleaned == whole:
                at = start
            elif cleaned != source[at:stop]:  # 依法查处 → 查处: where the cleaner cut, it stays
                at = stop
        if start < end < stop and stop <= candidate.quantity.start - sentence:
            end = stop
    fixed = source[at:end]
    return fixed if len(fixed) >= 2 else name


def continues_before(text: str, candidate: Candidate) -> int | None:
    """Where the clause this candidate's clause continues starts (see `_continued`), or None
    when its own words say what it counts: a reader, or a model, needs that clause too."""
    thing = _thing(text, candidate)
    if not thing or not (measure_only(thing) or _bare_verb(thing, candidate.quantity.unit)):
        return None
    sentence = max(text.rfind(ch, 0, candidate.quote_start) for ch in SENTENCE_END) + 1
    end = candidate.quote_start
    while end > sentence and text[end - 1] in CLAUSE_SEPARATORS:
        end -= 1
    if end <= sentence:
        return None
    return max(sentence, *(text.rfind(ch, sentence, end) + 1 for ch in CLAUSE_SEPARATORS))


def _bare_verb(name: str, unit: str) -> bool:
    """A name made only of verbs (办结, 答复, 纠错) counted in things, not times: an action
    without what it acted on. Counted in times (培训12场, 执法43次) the action is the event."""
    tags = tagged(name)
    events = unit in EVENT_CLASSIFIERS or unit in COMPOUND_CLASSIFIERS
    verbs = ("v",) if events else ("v", "vn")
    return bool(tags) and all(flag in verbs for _, flag in tags)


def _clause_before(text: str, start: int, pick: Callable[[str], str]) -> str:
    """What PICK takes from the nearest clause before START in its sentence (its words before its
    own number) that gives something, looking back at most CLAUSES_BACK clauses; or ""."""
    sentence = max(text.rfind(ch, 0, start) for ch in SENTENCE_END) + 1
    end = start
    while end > sentence and text[end - 1] in CLAUSE_SEPARATORS:
        end -= 1
    for _ in range(CLAUSES_BACK):
        begin = max(sentence, *(text.rfind(ch, sentence, end) + 1 for ch in CLAUSE_SEPARATORS))
        clause = text[begin:end]
        found = find_quantities(clause)
        words = clean_lead(clause[:found[0].start] if found else clause)
        if words and not names_nothing(words) and (picked := pick(words)):
            return picked
        if begin <= sentence:
            return ""
        end = begin - 1
    return ""


def _object_of(words: str) -> str:
    """The object of a verb phrase: the words after its leading verbs (受理群众来信 → 群众来信)."""
    tags = tagged(words)
    at = 0
    for word, flag in tags:
        if flag not in ("v", "d"):
            break
        at += len(word)
    rest = "".join(word for word, _ in tags[len(_words_upto(tags, at)):][-OBJECT_WORDS:])
    return rest if len(rest) >= 2 and not names_nothing(rest) else ""


def _words_upto(tags: tuple[tuple[str, str], ...], chars: int) -> list[str]:
    out, total = [], 0
    for word, _ in tags:
        if total >= chars:
            break
        out.append(word)
        total += len(word)
    return out


def _thing(text: str, candidate: Candidate) -> str:
    """What is counted, without its measure: the words before the number, or the noun after it."""
    quantity = candidate.quantity
    lead = clean_lead(text[candidate.quote_start:quantity.start])
    noun = counted_noun(text, quantity)
    if not noun:
        return lead
    if quantity.unit in EVENT_CLASSIFIERS or quantity.unit in COMPOUND_CLASSIFIERS:
        # 召开3次会议: the noun is the event only when no other words name it.
        return noun if not lead or lead in LIGHT_VERBS else lead
    # A nominal classifier stands before its noun: the noun is what is counted, and the verb
    # before it (招录, 填埋) says what was done with it, unless it only says that it exists, or
    # the words before are a list or a conjunct of their own (假冒品牌等|8类违法行为).
    raw = text[candidate.quote_start:quantity.start].strip()
    if raw.endswith((*CONJUNCTIONS, ETC, "的")):
        return noun  # 部门单位的|278项|行政许可事项: the words before only modify the noun
    lead = _strip_suffix(lead, COMPLEMENTS)
    if not lead or lead in LIGHT_VERBS or lead.endswith(EXISTENCE_VERBS):
        return noun
    return _last_verb(lead) + noun


def _last_verb(lead: str) -> str:
    """The verb that acts on the noun after the unit: the last word of the lead, whole
    (目前青龙镇聘请|1名律师 → 聘请; 依法拆除|8处 → 拆除), as the segmenter draws it."""
    tail = words(lead)[-1]
    return tail if len(tail) >= VERB_CHARS else lead[-VERB_CHARS:]


def clean_lead(lead: str) -> str:
    """The words before a number, without what says when, how much, where or how."""
    name = "".join(ch for ch in lead if not ch.isspace() and ch not in QUOTE_MARKS)
    name = _head_of_de_phrase(name)
    name = _drop_prepositional_phrase(name)
    name = _after_last(name, MEANS_CLOSERS)
    name = _after_last(name, DUMMY_VERBS)
    name = _after_last(name, _INNER_TOTALISERS)
    name = _after_etc(name)
    name = _DATE.sub("", name)
    for word in COMPARISON_WORDS:
        name = name.replace(word, "")
    previous = None
    while name != previous:
        previous = name
        name = _strip_leading(name)
        name = _strip_trailing(name)
    for word in DETERMINERS:
        if len(word) > 1:
            name = name.replace(word, "")
    name = _strip_prefix(name, ("各",))
    name = _SCOPE_ANYWHERE.sub("", name)  # where, not what: 对全镇 → 对
    if len(name) == 1 and name in LONE_PREPOSITIONS:
        return ""
    if name.endswith(GENERIC_HEADS) and len(name) > 2 + 2:
        name = _strip_suffix(name, GENERIC_HEADS)
    return name


def counted_noun(text: str, quantity: Quantity) -> str:
    """The noun right after a unit that stands before it ("19个|镇级专项普法工作队|，")."""
    if quantity.unit in NO_TRAILING_NOUN:
        return ""
    end = quantity.end
    limit = min(len(text), end + TRAILING_NOUN_MAX)
    stop = end
    # A predicate starts with a word of its own: not 正 in 社区矫正对象, nor 全 in 全体会议.
    starts = {end + s: text[end + s:end + e] for s, e in word_spans(text[end:limit])}
    while stop < limit and text[stop] not in STOP and not text[stop].isdigit():
        if stop > end and _predicate_at(starts.get(stop)):
            break
        if text[stop] in CN_CHARS and _count_starts(text, stop):
            break  # 两批|三人次: the next count, written in Chinese numerals
        stop += 1
    noun = text[end:stop]
    if stop < len(text) and stop == limit and text[stop] not in STOP:
        # Runs on into its predicate: the noun ends at its last head word, if it has one.
        ends = [noun.rfind(head) + len(head) for head in NOUN_HEADS if noun.rfind(head) >= 0]
        if not ends:
            return ""
        noun = noun[:max(ends)]
    if _predicate_at(starts.get(end)):
        return ""
    noun = "".join(ch for ch in noun if ch not in QUOTE_MARKS)
    if quantity.unit in PERSON_CLASSIFIERS:
        # People are counted: the noun ends with the word for them (…工作人员|管理).
        ends = [noun.rfind(word) + len(word) for word in PERSON_NOUNS if noun.rfind(word) >= 0]
        if ends:
            noun = noun[:max(ends)]
    return _strip_suffix(noun, GENERIC_HEADS) if len(noun) > 4 else noun


def _predicate_at(word: str | None) -> bool:
    """Whether a word (as the segmenter draws it) starts a predicate (已, 全部, 得到妥善…)."""
    return word is not None and (word in PREDICATE_STARTS or word.startswith(tuple(p for p in PREDICATE_STARTS if len(p) > 1)))


def _count_starts(text: str, pos: int) -> bool:
    found = find_quantities(text[pos:pos + TRAILING_NOUN_MAX])
    return bool(found) and found[0].start == 0


def _with_measure(name: str, unit: str, paired: bool = False) -> str:
    """Add the measure a bare action name lacks: 列入红榜 + 人 → 列入红榜人数, 执法 + 次 → 执法次数."""
    if not name:
        return name
    if unit in ("%", "个百分点"):
        for change, rate in CHANGE_WORDS.items():
            if name.endswith(change):
                return name[: -len(change)] + rate
        return name
    suffix = MEASURE_SUFFIX.get(unit)
    if unit in MONEY_UNITS:
        return name if name.endswith(MONEY_NOUNS) else name + MEASURE_SUFFIX[unit]
    if suffix is None or name.endswith(suffix):
        return name
    if unit in PERSON_CLASSIFIERS and not name.endswith(PERSON_NOUNS):
        return name + suffix
    if paired or len(name) <= BARE_VERB_MAX:
        return name + suffix
    return name


def _paired_with(text: str, candidate: Candidate) -> Candidate | None:
    """The count right before this one in the same phrase (进农村204余次|14250余人)."""
    start = candidate.quote_start
    if start == candidate.quantity.start and start > 0:
        sentence = max(text.rfind(ch, 0, start) for ch in "。；;\n") + 1
        previous = find_quantities(text[sentence:start])
        if previous and sentence + previous[-1].end == start:
            first = _shift(previous[-1], sentence)
            floor = sentence + previous[-2].end if len(previous) > 1 else 0
            return Candidate(first, clause_start(text, first.start, floor=floor), first.end, None)
    return None


def _pair_follows(text: str, quantity: Quantity) -> bool:
    following = find_quantities(text[quantity.end:quantity.end + 16])
    return bool(following) and not text[quantity.end:quantity.end + following[0].start].strip()


def _shift(q: Quantity, offset: int) -> Quantity:
    return Quantity(start=q.start + offset, end=q.end + offset, num_start=q.num_start + offset,
                    num_end=q.num_end + offset, value=q.value, value_max=q.value_max, unit=q.unit,
                    approx=q.approx, is_chinese=q.is_chinese, raw=q.raw)


def _after_last(name: str, words: tuple[str, ...]) -> str:
    # The words after the last of these, when at least a two-character word is left:
    # 镇长办公会等形式开展法治学习 → 法治学习; 组织政府机关干部开展法律知识专题学习 → 法律知识专题学习.
    best = -1
    for word in words:
        at = name.rfind(word)
        if at >= 0 and len(name) - (at + len(word)) >= 2:
            best = max(best, at + len(word))
    return name[best:] if best >= 0 else name


def _after_etc(name: str) -> str:
    # "X、Y等Z": the list gives examples, Z is what is counted (违法、不当等纠错决定 → 纠错决定).
    cut = -1
    for match in _ETC_SPLIT.finditer(name):
        if name[max(0, match.start() - 1):match.end()] in NOT_ETC or name[match.start():match.end() + 1] in NOT_ETC:
            continue
        if len(name) - match.end() >= 2:
            cut = match.end()
    return name[cut:] if cut >= 0 else name


def _head_of_de_phrase(name: str) -> str:
    # In "X的Y" the head Y is what is counted (以防讯为主的综合应急演练 → 综合应急演练).
    at = name.rfind("的")
    if 0 <= at < len(name) - 2:
        return name[at + 1:]
    return name


def _drop_prepositional_phrase(name: str) -> str:
    # 通过线上线下等形式开展法治学习 → 开展法治学习: the phrase of means is not what was done.
    if not name.startswith(PREPOSITIONS):
        return name
    for closer in PREPOSITION_CLOSERS:
        at = name.find(closer)
        if at > 0 and at + len(closer) < len(name) - 1:
            return name[at + len(closer):]
    return name


def _strip_leading(name: str) -> str:
    for pattern in (_ENUMERATOR, _SCOPE, _SELF):
        match = pattern.match(name)
        if match and match.end() < len(name):
            return name[match.end():]
    for words in (ENUMERATOR_WORDS, TIME_WORDS, TOTALISERS, SCOPE_WORDS, MANNER_ADVERBS, LIGHT_VERBS,
                  _SETTING_UP, PURPOSE_VERBS):
        stripped = _strip_prefix(name, words)
        if stripped != name and stripped and stripped[0] not in MEASURE_HEADS:  # 覆盖率 is a noun
            return stripped
    return name


def _strip_trailing(name: str) -> str:
    for change in CHANGE_WORDS:
        for complement in COMPLEMENTS:
            if name.endswith(change + complement) and len(name) > len(change) + 1:
                return name[: -len(change) - 1]  # 考核权重提升至15%: the level, not the change
    for words in (TOTALISERS, AMOUNT_WORDS, TIME_WORDS, ("的",)):
        stripped = _strip_suffix(name, words)
        if stripped != name and stripped:
            return stripped
    if len(name) > 2 and name.endswith(LINKING_VERBS) and name[-2] in MEASURE_HEADS:
        return name[:-1]  # 参训人数为 → 参训人数; 行为 stays
    if len(name) > 2 and name.endswith(REACH) and not name.endswith(NOT_REACH):
        return name[:-1]  # 发放手册达 → 发放手册; 送达 stays
    if len(name) > 2 and name.endswith(ETC) and not name.endswith(NOT_ETC):
        return name[:-1]
    return name


def _strip_prefix(name: str, words: tuple[str, ...]) -> str:
    for word in sorted(words, key=len, reverse=True):
        if name.startswith(word):
            return name[len(word):]
    return name


def _strip_suffix(name: str, words: tuple[str, ...]) -> str:
    for word in sorted(words, key=len, reverse=True):
        if name.endswith(word) and len(name) > len(word):
            return name[: -len(word)]
    return name
