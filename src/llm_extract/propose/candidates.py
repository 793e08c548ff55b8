"""Metric candidates: every counted quantity in a report, with the clause that quotes it and,
where the labelling guide excludes it, the named reason. Code proposes; the model labels.

Exclusions are rules by class, never lists of phrases: a number inside quotation
marks, an ordinal or rank, a rule or threshold, a duration, a policy package named by its
count, and for Chinese numerals the set phrases, fused words, scopes and slogans that a numeral
forms with its classifier. Arabic digits are strong evidence of a count; a Chinese numeral that
no rule decides is kept but marked `needs_model`, for a model to arbitrate.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from llm_extract.propose.lexicon import (
    ARTICLE_CLASSIFIERS,
    DEADLINE_SUFFIXES,
    DURATION_PREFIXES,
    EMPHATIC_NEGATION,
    EVENT_CLASSIFIERS,
    FUSING_SUFFIXES,
    ISSUING_VERBS,
    JOINT_MORPHEMES,
    KIND_CLASSIFIERS,
    NOT_REQUIREMENT,
    NUMERAL_WORDS,
    ORDINAL_CLASSIFIERS,
    ORDINAL_PREFIX,
    PERSON_CLASSIFIERS,
    POLICY_CUES,
    POLICY_ISSUERS,
    POLICY_NOUNS,
    POLICY_UNITS,
    RANK_PREFIX,
    RANK_UNITS,
    REQUIREMENT_REACH,
    REQUIREMENT_WORDS,
    ROUND_APPROX,
    ROUND_FIGURES,
    SCOPE_NOUNS,
    SESSION_NOUNS,
    TERRITORY_PREFIXES,
    TIME_UNITS,
)
from llm_extract.propose.numbers import CN_CHARS, Quantity, find_quantities
from llm_extract.propose.words import spans as word_spans

CLAUSE_DELIMITERS = "，。；：！？、,;:!?\n（(“\"《「"
SENTENCE_DELIMITERS = "。；;！？!?\n"
# A quote longer than this before the number is no longer "the shortest natural clause".
MAX_LEAD = 24
# How far back a clause or sentence is read for the words that make a number not a count.
LOOKBACK = 300
# Characters from a unit on that the segmenter reads to tell whether the unit begins a word.
WORD_WINDOW = 8
GENERAL_CLASSIFIER = "个"
# No "^": Pattern.match(text, pos) already anchors at pos, and "^" would anchor at 0.
ENUMERATOR = re.compile(r"(?:[一二三四五六七八九十]+是|其[一二三四五六七八九十]|同时|并|共计|累计|总计|合计|共|另外)+")

ARTICLE = "一X used as an article"
QUOTED = "name in quotation marks"
ORDINAL = "ordinal"
RANK = "rank, not a count"
THRESHOLD = "rule or threshold, not a count of what was done"
DURATION = "duration or deadline, not a count of what was done"
POLICY = "policy package named by its count"
SET_PHRASE = "fixed name: set phrase 一X一Y"
FUSED = "fixed name: numeral fused into a word"
SCOPE = "fixed name: a Chinese numeral naming a scope or a set of rules"
SLOGAN = "fixed name: slogan of four-character phrases"
NAMED_SET = "fixed name: N大 names a set"
CLASSIFICATION = "classification, not a count"
SESSION = "ordinal: a session number"
FIGURE = "figure of speech: a bare 百/千/万 or 数十"
SPLIT = "number split by a line break or a space"

_CJK = re.compile(r"[\u4e00-\u9fff]")
_DIGITS = "0123456789０１２３４５６７８９"
_ITEM_END = "、，,；;。：:！？!?”’」』)）\n"
_LIST_SEPARATORS = "、，,"
_BIG_FORM = re.compile(r"\s*大(?!类)")  # "N大X", the pseudo-classifier (numbers.BIG_HEADS)


@dataclass(frozen=True)
class Candidate:
    """A quantity at document offsets, its quoting clause and, if excluded, why.

    `needs_model` marks a Chinese-numeral candidate that no rule decides (两名 is a count,
    两个维护 is not): kept, and for a model to arbitrate.
    """

    quantity: Quantity
    quote_start: int
    quote_end: int
    exclusion: str | None
    needs_model: bool = False

    @property
    def is_excluded(self) -> bool:
        return self.exclusion is not None


def find_candidates(text: str, generated: Sequence[tuple[int, int]] = ()) -> list[Candidate]:
    """Every quantity of the text with its clause. `generated` are character ranges a converter
    generated (Word's list labels such as "1." or "（三）"): they are not the report's words, so
    they are read as line breaks here. A label's digits can never be a number nor join the
    number after them ("1." + "2名" is not 1.2名), and no clause reaches back into a label.
    Offsets are unchanged, so quotes are still cut from the text itself."""
    text = mask(text, generated)
    found = []
    previous_end = 0
    for quantity in find_quantities(text):
        if unit_begins_word(text, quantity):
            continue  # 3部署, 5成员单位: not a number and its unit
        start = clause_start(text, quantity.start, floor=previous_end)
        reason = SPLIT if split_by_line_break(text, quantity) else exclusion_reason(text, quantity)
        if reason is None and _round_count(text, quantity):
            # 上千件, 数十次: a round count; its word of approximation belongs to the quantity.
            prefix = next((w for w in ROUND_APPROX if text.endswith(w, 0, quantity.start)), "")
            quantity = replace(quantity, approx=True, start=quantity.start - len(prefix),
                               raw=prefix + quantity.raw)
        # 百分之九十五 is a percentage in words, not a numeral that might be a name.
        undecided = reason is None and quantity.is_chinese and quantity.unit != "%"
        found.append(Candidate(quantity, start, quantity.end, reason, needs_model=undecided))
        if reason is None:
            # A number that is not a count is words of the clause ("开办一件事"三项): the next
            # clause may run back over it, but not over a count.
            previous_end = quantity.end
    return found


def split_by_line_break(text: str, q: Quantity) -> bool:
    """Is this quantity read across a break that splits its number or parts the number from its
    unit (a wrap a converter did not join: 4 | 3项 read as 3项, 102 | 批, 92. | 42%)? Its value
    would be part of the number, or its quote would span two lines: never a metric. A space
    between two digits splits a number too (1 0件 is not 0件)."""
    if "\n" in text[q.num_start:q.end]:
        return True  # 102\n批, 100\n%, 3\n万元, 1-\n2次
    # Back from the number over whitespace and at most one decimal point or thousands comma.
    before, mark = q.num_start, False
    while before > 0 and (text[before - 1].isspace() or (not mark and text[before - 1] in ".．,")):
        mark = mark or not text[before - 1].isspace()
        before -= 1
    crossed = text[before:q.num_start]
    if before == 0 or not crossed.strip(".．,"):
        return False  # no break nor space: 1.5 and 1,200 are whole numbers
    ended = text[before - 1]
    if "\n" not in crossed and mark:
        return False  # 12, 3项: a list, not a broken number
    if q.is_chinese:
        return "\n" in crossed and ended in CN_CHARS  # 十\n二项
    return ended in _DIGITS  # 4\n3项, 92.\n42%, 92\n.42%, 1 0件


def split_count(text: str, generated: Sequence[tuple[int, int]] = ()) -> int:
    """How many quantities of the text are refused as split by a line break."""
    return sum(1 for c in find_candidates(text, generated) if c.exclusion == SPLIT)


def unit_begins_word(text: str, q: Quantity) -> bool:
    """Whether the unit's character is the first of a longer word that runs past the quantity
    (部署, 处理, 条例, 人员), as the segmenter draws the words from the unit on."""
    if len(q.unit) != 1:
        return False
    at = text.find(q.unit, q.num_end, q.end)
    if at < 0:
        return False
    window = text[at:at + WORD_WINDOW]
    first_end = word_spans(window)[0][1]
    if q.unit == GENERAL_CLASSIFIER and window[1:first_end] in PERSON_CLASSIFIERS:
        return False  # 19个人: the general classifier counting people (个人 is also a word)
    return first_end > len(q.unit) and at + first_end > q.end


def mask(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """The text with each span replaced by as many line breaks (same length, same offsets)."""
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        chars[max(0, start):max(0, end)] = "\n" * (max(0, end) - max(0, start))
    return "".join(chars)


def clause_start(text: str, num_start: int, floor: int = 0) -> int:
    """Start of the clause that ends at the number: after the last delimiter, the previous
    quantity, an enumerator such as 一是, and at most MAX_LEAD characters back."""
    start = num_start
    limit = max(floor, num_start - MAX_LEAD)
    row = table_row_start(text, num_start, limit)
    if row is not None:
        return row
    while start > limit and text[start - 1] not in CLAUSE_DELIMITERS:
        start -= 1
    while start < num_start and text[start].isspace():
        start += 1
    match = ENUMERATOR.match(text, start, num_start)
    if match and match.end() < num_start:
        start = match.end()
    return start


_SERIAL_CELL = re.compile(r"[ \t\u3000]*[0-9０-９]{1,3}[.．、]?[ \t\u3000]*\t")


def table_row_start(text: str, num_start: int, limit: int) -> int | None:
    """In a table row (a line whose cells are tab-separated, as every converter writes tables),
    the clause is the row up to the number: what a cell says is not cut at its own punctuation
    (行政诉讼案件（一审）), and a first cell that is only a serial number (1, 2.) is left out.
    None when the number is not in a table row."""
    # Looked for within the clause's reach only: a long line is not scanned back for each number.
    found = text.rfind("\n", limit, num_start)
    line_start = found + 1 if found >= 0 else limit
    if "\t" not in text[line_start:num_start]:
        return None
    start = line_start
    at_row_start = found >= 0 or limit == 0
    if at_row_start and (serial := _SERIAL_CELL.match(text, start, num_start)):
        start = serial.end()
    while start < num_start and text[start].isspace():
        start += 1
    return start


def exclusion_reason(text: str, quantity: Quantity) -> str | None:
    """The guide's reason a counted-looking number is not a metric, or None."""
    if _inside_quotes(text, quantity.num_start):
        return QUOTED
    reason = _rank(text, quantity) or _policy_package(text, quantity) or _threshold(text, quantity)
    reason = reason or _duration(text, quantity)
    if reason is None and _session(text, quantity):
        reason = SESSION
    if reason is None and quantity.is_chinese:
        reason = chinese_numeral_reason(text, quantity)
    return reason


def _round_count(text: str, q: Quantity) -> bool:
    """A bare power of ten after a word of approximation (近百人, 上千件, 数十次)."""
    return q.is_chinese and text[q.num_start:q.num_end] in ("十", *ROUND_FIGURES) \
        and (q.approx or text.endswith(ROUND_APPROX, 0, q.num_start))


def _session(text: str, q: Quantity) -> bool:
    """十四届三次全会, 三次全体会议: 次 numbers a session after 届 or before a meeting's name."""
    if q.unit not in EVENT_CLASSIFIERS:
        return False
    return text.endswith("届", 0, q.start) or text.startswith(SESSION_NOUNS, q.end)


def chinese_numeral_reason(text: str, q: Quantity) -> str | None:
    """Classes in which a Chinese numeral and its classifier name something instead of counting.

    Digits are not passed here: "6个领域" counts, "六个方面" names the parts of an argument.
    """
    numeral = text[q.num_start:q.num_end]
    if _round_count(text, q):
        return None  # 近百人, 上千件, 数十次: counted, approximately
    if numeral in ROUND_FIGURES and q.unit != "%":
        return FIGURE  # 百名干部, 千家万户: no coefficient, no exact count (百分之百 is exact)
    if numeral == "一" and text.startswith(EMPHATIC_NEGATION, q.end):
        return SLOGAN  # 一次都不跑: not even once
    if q.unit in ORDINAL_CLASSIFIERS:
        return SESSION  # 十九届二中全会
    if _set_phrase(text, q):
        return SET_PHRASE  # 一户一审, 一件事一次办
    if text.startswith(FUSING_SUFFIXES, q.end) or text.startswith(NUMERAL_WORDS, q.num_start):
        return FUSED  # 一次性, 一起, 一把手
    if q.unit in KIND_CLASSIFIERS:
        return CLASSIFICATION  # 五类普法重点人员 (the guide's borderline case), 三种方式
    if _BIG_FORM.match(text, q.num_end):
        return NAMED_SET  # 十大重点领域, 三大板块: the pseudo-classifier 大 names a set
    if text.startswith(SCOPE_NOUNS, q.end):
        return SCOPE  # 从七个方面, 执法四张清单, 八项规定, 两个重点
    if _slogan(text, q):
        return SLOGAN  # 十户联防、四级联动、三村联控
    if numeral == "一" and q.unit in ARTICLE_CLASSIFIERS and not q.approx:
        return ARTICLE  # 作为一项指标, 缺乏一支队伍
    return None


def _set_phrase(text: str, q: Quantity) -> bool:
    """N X N' Y, a slogan of any numerals: 一户一审, 一件事一次办, 三进三帮, 六个一; the candidate
    is either numeral. Two counts side by side (两批三人次) are not one: the other numeral must
    not itself count with a classifier."""
    numeral = text[q.num_start:q.num_end]
    if len(numeral) != 1:
        return False
    # As the first numeral: at most one more character after the classifier, then a numeral
    # and a word.
    for gap in range(0, 2):
        at = q.end + gap
        if at + 1 < len(text) and text[at] in _SLOGAN_NUMERALS and _is_cjk(text[at + 1]) \
                and text[at + 1] not in CN_CHARS \
                and all(_is_cjk(ch) and ch not in CN_CHARS for ch in text[q.end:at]) \
                and (numeral == "一" == text[at] or not _counts_at(text, at)):
            return True
    # As the second numeral: a numeral and one to three characters before it.
    for gap in range(1, 4):
        at = q.num_start - gap - 1
        if at >= 0 and text[at] in _SLOGAN_NUMERALS \
                and all(_is_cjk(ch) and ch not in CN_CHARS for ch in text[at + 1:q.num_start]) \
                and (at == 0 or text[at - 1] not in CN_CHARS) \
                and (numeral == "一" == text[at] or not _counts_at(text, at, q.num_start)):
            return True
    return False


_SLOGAN_NUMERALS = "一二两三四五六七八九十"


def _counts_at(text: str, at: int, end: int | None = None) -> bool:
    """Whether a quantity starts at AT (and, given END, ends there)."""
    found = find_quantities(text[at:at + 8 if end is None else end])
    return bool(found) and found[0].start == 0 and (end is None or found[0].end == end - at)


def _slogan(text: str, q: Quantity) -> bool:
    """A four-character phrase numeral + classifier + two characters (四字格) that is a slogan:
    its verb is one of joint action (十户联防, 五户联保), or it is listed beside another such
    phrase whose numeral is not followed by a classifier (十户联防、四级联动、三村联控).
    Two counts side by side (两名律师、三名法官) stay counts."""
    if q.num_end - q.num_start != 1 or q.end - q.num_start != 2 or not _four_char_item(text, q.num_start):
        return False
    if text[q.end] in JOINT_MORPHEMES:
        return True
    after = q.num_start + 4
    if after < len(text) and text[after] in _LIST_SEPARATORS and _slogan_sibling(text, after + 1):
        return True
    before = q.num_start - 1
    return before >= 4 and text[before] in _LIST_SEPARATORS and _slogan_sibling(text, before - 4)


def _four_char_item(text: str, pos: int) -> bool:
    return (pos + 4 <= len(text) and text[pos] in CN_CHARS
            and all(_is_cjk(ch) for ch in text[pos + 1:pos + 4])
            and (pos + 4 == len(text) or text[pos + 4] in _ITEM_END))


def _slogan_sibling(text: str, pos: int) -> bool:
    if pos < 0 or not _four_char_item(text, pos):
        return False
    return not any(q.start == 0 for q in find_quantities(text[pos:pos + 4]))


def _rank(text: str, q: Quantity) -> str | None:
    before = text[max(0, q.start - 1):q.start]
    if before == ORDINAL_PREFIX:
        return ORDINAL  # 第3名, 第一责任人
    if before == RANK_PREFIX and q.unit in RANK_UNITS:
        return RANK  # 位列前3名
    return None


def _policy_package(text: str, q: Quantity) -> str | None:
    """国家33条政策措施, 省48条: a document named by its count, put to work by a policy verb."""
    if q.unit not in POLICY_UNITS:
        return None
    sentence = _sentence_before(text, q.start)
    if not any(cue in sentence for cue in POLICY_CUES):
        return None
    names_policy = text.startswith(POLICY_NOUNS, q.end)
    issuer = next((w for w in POLICY_ISSUERS if text.endswith(w, 0, q.start)), None)
    if issuer is not None and text[q.start - len(issuer) - 1:q.start - len(issuer)] in TERRITORY_PREFIXES:
        issuer = None  # 全省48条 is a territory's count
    if issuer is None and _last_cue(sentence) in ISSUING_VERBS:
        return None  # 出台稳企12条措施: measures the body issued itself are its output
    return POLICY if names_policy or issuer else None


def _last_cue(sentence: str) -> str | None:
    found = [(sentence.rfind(cue), cue) for cue in POLICY_CUES if cue in sentence]
    return max(found)[1] if found else None


def _threshold(text: str, q: Quantity) -> str | None:
    """A modal before the number, in the same clause: 执法人员需2人以上, 至少配备1名."""
    clause = _clause_before(text, q.start)
    for word in REQUIREMENT_WORDS:
        at = clause.rfind(word)
        if at < 0 or len(clause) - (at + len(word)) > REQUIREMENT_REACH:
            continue
        if any(clause.startswith(other, start) for other in NOT_REQUIREMENT for start in (at - 1, at) if start >= 0):
            continue  # 群众需求, 所需经费: not a modal
        return THRESHOLD
    return None


def _duration(text: str, q: Quantity) -> str | None:
    """为期3天, 3个工作日内, 24小时值班: a span of time describing work, not an amount of it."""
    if q.unit not in TIME_UNITS:
        return None
    if _clause_before(text, q.start).endswith(DURATION_PREFIXES) or text.startswith(DEADLINE_SUFFIXES, q.end):
        return DURATION
    following = text[q.end:q.end + 1]
    if following and _is_cjk(following) and following != "的":
        return DURATION  # the span qualifies the word after it
    return None


def _clause_before(text: str, pos: int) -> str:
    return _back_to(text, pos, CLAUSE_DELIMITERS)


def _sentence_before(text: str, pos: int) -> str:
    return _back_to(text, pos, SENTENCE_DELIMITERS)


def _back_to(text: str, pos: int, delimiters: str) -> str:
    """The text from the last delimiter before pos, at most LOOKBACK characters: the words that
    govern a number are near it, and an unbounded walk back would make a text without
    delimiters (a flattened table, a run-on line) quadratic in its length."""
    limit = max(0, pos - LOOKBACK)
    start = max(text.rfind(ch, limit, pos) + 1 for ch in delimiters)
    return text[max(start, limit):pos]


def _is_cjk(ch: str) -> bool:
    return bool(_CJK.match(ch))


def _inside_quotes(text: str, pos: int) -> bool:
    # Look back on the same line for an opening mark that is not yet closed.
    reach = max(0, pos - 20)
    line_start = text.rfind("\n", reach, pos) + 1  # bounded: a long line is not scanned back
    depth_open = None
    for i in range(pos - 1, max(line_start, reach) - 1, -1):
        ch = text[i]
        if ch in "”’》」』":
            return False
        if ch in "“‘《「『":
            depth_open = i
            break
        if ch in "。；;":
            return False
    if depth_open is None:
        return False
    close = re.search(r"[”’》」』]", text[pos:pos + 20])
    return close is not None
