"""PDF line wraps inside numbers: the converted text is the paragraphs as written, whatever
character a wrap falls on, for three typesetters (tests/support/wrapfixtures.py), justified and ragged,
with and without first-line indents, at several font sizes; and the same metrics as the text."""

from __future__ import annotations

from functools import cache

import pytest

from llm_extract.ingest.documents import load
from llm_extract.run.extract import extract_document
from llm_extract.ingest.formats.pdf import convert, wrap_joiner
from llm_extract.label.labellers import RulesLabeller
from llm_extract.propose.numbers import find_quantities
from tests.support import formatfixtures as ff
from tests.support import wrapfixtures as wf

PARAS = wf.paragraphs(12)
SIZES = (10.5, 12, 16)
LAYOUTS = [(justify, indent) for justify in (True, False) for indent in (2, 0)]


def layout_id(layout: tuple[bool, int]) -> str:
    return f"{'justified' if layout[0] else 'ragged'}-{'indented' if layout[1] else 'block'}"


def quantities(text: str) -> list[tuple[float, float | None, str]]:
    return [(q.value, q.value_max, q.unit) for q in find_quantities(text)]


def assert_paragraphs(data: bytes, paras: list[str]) -> None:
    text = convert(data).text
    want = "\n".join(paras)
    assert quantities(text) == quantities(want)
    assert text.split("\n") == paras


@pytest.mark.parametrize("layout", LAYOUTS, ids=layout_id)
@pytest.mark.parametrize("size", SIZES)
def test_wraps_anywhere_inside_numbers(size, layout):
    """A typesetter that breaks anywhere, digits in a Latin font, justified by character spacing."""
    justify, indent = layout
    assert_paragraphs(wf.typeset_pdf(PARAS, size, justify, indent), PARAS)


@pytest.mark.parametrize("layout", LAYOUTS, ids=layout_id)
@pytest.mark.parametrize("size", SIZES)
def test_numbers_kept_whole_leave_short_lines_that_continue(size, layout):
    """A typesetter that moves a whole number down (1024.75万元 did not fit) leaves a line that
    ends short of the margin by more than a character: it continues all the same."""
    justify, indent = layout
    assert_paragraphs(wf.typeset_pdf(PARAS, size, justify, indent, latin_font=None, break_in_words=False), PARAS)


@pytest.mark.parametrize("layout", LAYOUTS, ids=layout_id)
@pytest.mark.parametrize("size", SIZES)
def test_reportlab_paragraphs(size, layout):
    justify, indent = layout
    assert_paragraphs(wf.platypus_pdf(PARAS, size, justify, indent), PARAS)


def test_font_sizes_mixed_in_one_document():
    sizes = (16, 10.5, 12, 22)
    for layout in LAYOUTS:
        assert_paragraphs(wf.typeset_pdf(PARAS, sizes, *layout), PARAS)


def test_the_fixtures_wrap_inside_every_kind_of_number():
    """The typesetter does what the tests above rely on: its wraps fall between two digits, at
    a decimal point, before %, between a number and its unit and inside a range."""
    kinds = set()
    for size in SIZES:
        for layout in LAYOUTS:
            kinds |= wf.wrap_kinds(wf.typeset_pdf(PARAS, size, *layout))
    assert {"digit|digit", "point|digit", "digit|point", "digit|%", "digit|unit", "range"} <= kinds
    # and one that keeps numbers whole leaves short lines before them (wraps before a digit)
    kept = wf.wraps(wf.typeset_pdf(PARAS, 16, True, 2, break_in_words=False))
    assert any(b[0].isdigit() and not a[-1].isdigit() for a, b in kept)


@cache
def office(size: float, justify: bool) -> bytes | None:
    return wf.office_pdf(PARAS, size, justify, 2)


@pytest.mark.skipif(not wf.office_available(), reason="LibreOffice (soffice) is not installed")
@pytest.mark.parametrize("justify", [True, False], ids=["justified", "ragged"])
@pytest.mark.parametrize("size", [10.5, 16])
def test_libreoffice_pdfs(size, justify):
    """A second typesetter: LibreOffice in Noto CJK, which also puts extra room between Chinese
    and Latin text (PDFium reads it as spaces: 43 项)."""
    data = office(size, justify)
    assert data is not None
    assert_paragraphs(data, PARAS)


def test_metrics_of_the_pdf_equal_the_text_runs(tmp_path):
    """Value, range, unit and quote of every metric, and nothing refused as split."""
    text = "某县司法局2024年法治政府建设年度报告\n" + "\n".join(PARAS) + "\n"
    (tmp_path / "r.txt").write_text(text, encoding="utf-8")
    (tmp_path / "r.pdf").write_bytes(wf.typeset_pdf(text.strip().split("\n"), 16, True, 2))
    runs = [extract_document(load(tmp_path / name), RulesLabeller()) for name in ("r.txt", "r.pdf")]
    keys = [[(m.value, m.value_max, m.unit, ff.squash(m.quote)) for m in run.metrics] for run in runs]
    assert len(keys[0]) >= 5 * len(PARAS) and keys[1] == keys[0]
    assert [run.dropped for run in runs] == [0, 0]


def test_wrap_joiner_never_spaces_digits():
    assert wrap_joiner("共计4", "3项") == ""
    assert wrap_joiner("压缩92.", "42%") == ""
    assert wrap_joiner("共3", "A级景区") == ""
    assert wrap_joiner("rule of", "law") == " "


def test_a_line_drawn_out_of_order_reads_left_to_right():
    """LibreOffice draws a line's quotation marks (another font, a higher baseline) in one text
    object before its Chinese text, and PDFium reads them together: 推进“ ”法治化建设. The
    LibreOffice tests above show it end to end; here the rule on its own."""
    from llm_extract.ingest.formats.pdf import _Char, _line

    def char(ch: str, left: float, width: float = 16, bottom: float = 700, generated: bool = False) -> _Char:
        return _Char(ch, (left, bottom, left + width, bottom + 16), generated)

    drawn = [char("推", 72), char("进", 88), char("“", 104, 6, 702), char("”", 158, 6, 702),
             char(" ", 110, 0, generated=True), char("法", 110), char("治", 126), char("化", 142),
             char("建", 164), char("设", 180)]
    assert _line(drawn, 1).text == "推进“法治化”建设"
    # Text that runs down the page (no band all its characters share) keeps PDFium's order.
    column = [char("上", 72, bottom=700), char("下", 72, bottom=684), char("左", 72, bottom=716)]
    assert _line(column, 1).text == "上下左"
