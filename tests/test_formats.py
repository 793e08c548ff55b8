"""Reports as users have them (issue 12): .docx with Word's automatic numbering, text PDFs, saved
web pages. Each fixture is generated from a plain-text report in reports/ (tests/support/formatfixtures.py)
and extracted with the code-only rules backend; what it yields must agree with the .txt run."""

from __future__ import annotations

import io
import re
import zipfile
from functools import cache
from itertools import pairwise
from pathlib import Path

import pytest

from llm_extract.ingest.documents import Document, load
from llm_extract.run.extract import extract_document
from llm_extract.label.labellers import RulesLabeller
from llm_extract.schemas import Extraction
from llm_extract.propose.numbers import find_quantities
from tests.support import formatfixtures as ff
from tests.support.paths import REPORTS

REPORT_FILES = sorted(REPORTS.glob("*.txt"))
MAKERS = {"docx": ff.docx_bytes, "pdf": ff.pdf_bytes, "html": ff.html_page}


@cache
def txt_run(name: str) -> Extraction:
    return extract_document(load(REPORTS / name), RulesLabeller())


@cache
def fixture_bytes(name: str, fmt: str) -> bytes:
    return MAKERS[fmt](load(REPORTS / name).text)


def converted(tmp_path: Path, name: str, fmt: str) -> tuple[Document, Extraction]:
    path = tmp_path / f"{Path(name).stem}.{fmt}"
    path.write_bytes(fixture_bytes(name, fmt))
    doc = load(path)
    return doc, extract_document(doc, RulesLabeller())


def sections(extraction: Extraction) -> list[tuple[int, str, str]]:
    return [(s.level, s.number, s.title) for s in extraction.sections]


def metric_keys(extraction: Extraction) -> list[tuple[float, float | None, str, str]]:
    """Value, range, unit and quote. Quotes are compared without whitespace: a PDF does not keep
    the space a line wrap fell on ("4 人" in the .txt is "4" at a line's end and "人" starting
    the next in the PDF), and HTML collapses runs of spaces, as a browser shows them."""
    return [(m.value, m.value_max, m.unit, ff.squash(m.quote)) for m in extraction.metrics]


@pytest.mark.parametrize("fmt", list(MAKERS))
@pytest.mark.parametrize("report", [p.name for p in REPORT_FILES])
def test_format_agrees_with_the_txt_run(tmp_path, report, fmt):
    doc, run = converted(tmp_path, report, fmt)
    base = txt_run(report)
    assert doc.source_format == fmt and doc.converter
    assert sections(run) == sections(base)
    found = [k for k in metric_keys(base) if k in metric_keys(run)]
    assert len(found) >= 0.98 * len(metric_keys(base)), sorted(set(metric_keys(base)) - set(found))[:5]
    assert len(run.metrics) <= len(base.metrics) + len(ff.table_rows(load(REPORTS / report).text))
    assert run.meta == base.meta and run.title == base.title
    # Every value parses from its own quote in the converted text (a converter that split a
    # number would leave a quote whose quantity differs from the .txt run's).
    assert all([(q.value, q.unit) for q in find_quantities(m.quote)] == [(m.value, m.unit)] for m in run.metrics)
    assert len(run.problems) == len(base.problems)


# --- .docx -----------------------------------------------------------------------------------------
def test_docx_headings_are_word_numbering_not_typed_numerals(tmp_path):
    name = REPORT_FILES[0].name
    data = fixture_bytes(name, "docx")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        body = archive.read("word/document.xml").decode()
        numbering = archive.read("word/numbering.xml").decode()
    typed = re.findall(r"<w:t(?: [^>]*)?>(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）)", body)
    assert typed == [] and "chineseCounting" in numbering and "startOverride" in numbering
    doc, run = converted(tmp_path, name, "docx")
    # Every heading's mark is a generated span, and nothing is read inside one.
    assert {s.char_start for s in run.sections} <= {start for start, _ in doc.generated}
    for start, end in doc.generated:
        assert not any(m.char_start < end and start < m.char_end for m in run.metrics)
    labels = [doc.text[a:b] for a, b in doc.generated]
    assert labels[:2] == ["一、", "（一）"] and "二、" in labels


def _list_docx(path: Path, num_id: int, levels: str, paragraphs: list[tuple[int, str]]) -> Path:
    """A .docx whose paragraphs are items of one Word list (numbering.xml, not typed labels):
    LEVELS is the abstractNum's <w:lvl> elements, PARAGRAPHS (level, text) pairs."""
    import docx
    from docx.oxml import parse_xml

    document = docx.Document()
    numbering = document.part.numbering_part.element
    w = ff.W_NS
    numbering.find(f"{{{w}}}num").addprevious(parse_xml(
        f'<w:abstractNum xmlns:w="{w}" w:abstractNumId="{num_id}">{levels}</w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num xmlns:w="{w}" w:numId="{num_id}"><w:abstractNumId w:val="{num_id}"/></w:num>'))
    for ilvl, line in paragraphs:
        paragraph = document.add_paragraph(line)
        paragraph._p.get_or_add_pPr().append(parse_xml(
            f'<w:numPr xmlns:w="{w}"><w:ilvl w:val="{ilvl}"/><w:numId w:val="{num_id}"/></w:numPr>'))
    document.save(path)
    return path


def test_docx_generated_number_never_becomes_a_metric(tmp_path):
    """A decimal list whose label is followed by nothing: "1." + "2名律师…" shows as "1.2名律师";
    the label's 1 must not be read, nor join the report's 2."""
    w = ff.W_NS
    path = _list_docx(tmp_path / "list.docx", 90,
                      f'<w:lvl xmlns:w="{w}" w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/>'
                      f'<w:suff w:val="nothing"/><w:lvlText w:val="%1."/></w:lvl>',
                      [(0, "2名律师驻村提供法律服务。"), (0, "3次集中普法宣传。")])
    doc = load(path)
    assert doc.text == "1.2名律师驻村提供法律服务。\n2.3次集中普法宣传。"
    assert doc.generated == ((0, 2), (16, 18))
    run = extract_document(doc, RulesLabeller())
    assert [(m.value, m.unit, m.quote) for m in run.metrics] == [(2.0, "名", "2名"), (3.0, "次", "3次")]


def test_docx_problem_items_never_start_inside_a_generated_label(tmp_path):
    """Numbered problems ("1." of Word numbering) are split after their labels, not into them."""
    w = ff.W_NS
    path = _list_docx(tmp_path / "problems.docx", 91,
                      f'<w:lvl xmlns:w="{w}" w:ilvl="0"><w:start w:val="2"/><w:numFmt w:val="chineseCounting"/>'
                      f'<w:suff w:val="nothing"/><w:lvlText w:val="%1、"/></w:lvl>'
                      f'<w:lvl xmlns:w="{w}" w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="decimal"/>'
                      f'<w:lvlText w:val="%2."/></w:lvl>',
                      [(0, "存在的问题"), (1, "基层法治力量薄弱，专业人员缺乏。"), (1, "群众法治意识有待提高，学法用法氛围不浓。")])
    doc = load(path)
    assert doc.text.split("\n") == ["二、存在的问题", "1.\t基层法治力量薄弱，专业人员缺乏。", "2.\t群众法治意识有待提高，学法用法氛围不浓。"]
    run = extract_document(doc, RulesLabeller())
    assert [p.quote for p in run.problems] == ["基层法治力量薄弱，专业人员缺乏", "群众法治意识有待提高，学法用法氛围不浓"]
    for start, end in doc.generated:
        assert not any(p.char_start < end and start < p.char_end for p in run.problems)


def test_docx_table_rows_are_lines_in_reading_order_with_tab_separated_cells(tmp_path):
    name = REPORT_FILES[1].name
    text = load(REPORTS / name).text
    rows = ff.table_rows(text)
    doc, run = converted(tmp_path, name, "docx")
    lines = doc.text.split("\n")
    at = lines.index("\t".join(rows[0]))
    assert lines[at + 1:at + len(rows)] == ["\t".join(row) for row in rows[1:]]
    # Reading order: right after the first body paragraph that follows the first level-1 heading.
    first_heading = next(i for i, line in enumerate(lines) if line.startswith("一、"))
    first_body = next(i for i in range(first_heading + 1, len(lines)) if ff.heading_of(lines[i]) is None)
    assert at == first_body + 1
    in_table = [m for m in run.metrics if "\t" in doc.text[doc.text.rfind("\n", 0, m.char_start) + 1:m.char_end]]
    assert len(in_table) == len(rows) - 1  # the numbers in the table are candidates like any other


# --- PDF -------------------------------------------------------------------------------------------
def test_pdf_pages_headers_and_page_numbers(tmp_path):
    name = REPORT_FILES[0].name
    doc, run = converted(tmp_path, name, "pdf")
    title = load(REPORTS / name).text.strip().split("\n")[0]  # the header (fixture) says it without spaces
    assert title and doc.text.split("\n").count(title) == 1  # the running header repeats it on every page: gone
    assert not re.search(r"—\s*\d+\s*—", doc.text)
    pages = doc.pages
    assert len(pages) >= 3 and [p for p, _, _ in pages] == list(range(1, len(pages) + 1))
    assert pages[0][1] == 0 and pages[-1][2] == len(doc.text)
    assert all(a[2] <= b[1] for a, b in pairwise(pages))
    later = [m for m in run.metrics if (run.page_at(m.char_start) or 0) >= 2]
    assert later, "metrics beyond page 1 know their page"


def test_pdf_line_wraps_are_joined_also_for_block_paragraphs(tmp_path):
    """Without first-line indents, a wrap is joined unless the line ended its sentence."""
    name = REPORT_FILES[2].name
    text = load(REPORTS / name).text
    path = tmp_path / "block.pdf"
    path.write_bytes(ff.pdf_bytes(text, indent=0))
    run = extract_document(load(path), RulesLabeller())
    base = txt_run(name)
    assert sections(run) == sections(base)
    found = [k for k in metric_keys(base) if k in metric_keys(run)]
    assert len(found) >= 0.98 * len(metric_keys(base))


def test_pdf_page_number_forms_are_furniture():
    from llm_extract.ingest.formats.pdf import PAGE_NUMBER, _key

    for line in ("— 3 —", "- 12 -", "第 3 页", "第3页 共12页", "3/12", "Page 2 of 9", "7"):
        assert PAGE_NUMBER.fullmatch(_key(line)), line
    for line in ("2024年", "第三章", "共3次", "一、总结"):
        assert not PAGE_NUMBER.fullmatch(_key(line)), line


# --- HTML ------------------------------------------------------------------------------------------
def test_html_keeps_the_body_and_drops_the_portal(tmp_path):
    doc, run = converted(tmp_path, REPORT_FILES[0].name, "html")
    for furniture in ff.HTML_FURNITURE:
        assert furniture not in doc.text, furniture
    assert "项目\t数量" in doc.text.split("\n")
    assert all("358" not in m.quote for m in run.metrics)


def test_html_in_gbk_as_declared(tmp_path):
    name = REPORT_FILES[3].name
    path = tmp_path / "gbk.htm"
    path.write_bytes(ff.html_page(load(REPORTS / name).text, encoding="gbk"))
    run = extract_document(load(path), RulesLabeller())
    assert sections(run) == sections(txt_run(name))


# --- numbering formats ------------------------------------------------------------------------------
def test_number_formats():
    from llm_extract.ingest.formats.numbering import format_number

    assert [format_number(n, "chineseCounting") for n in (1, 9, 10, 11, 20, 21, 99)] == \
        ["一", "九", "十", "十一", "二十", "二十一", "九十九"]
    assert [format_number(n, "chineseCountingThousand") for n in (100, 105, 110, 1010, 2024)] == \
        ["一百", "一百零五", "一百一十", "一千零一十", "二千零二十四"]
    assert [format_number(n, "ideographTraditional") for n in (1, 2, 10, 11)] == ["甲", "乙", "癸", "甲"]
    assert format_number(12, "decimalFullWidth") == "１２" and format_number(3, "decimal") == "3"
    assert format_number(3, "decimalEnclosedCircleChinese") == "③" and format_number(4, "upperRoman") == "IV"
    assert format_number(3, "chineseLegalSimplified") == "叁" and format_number(5, "none") == ""


def _numbering(abstract: str, nums: str, styles: str = "") -> tuple[object, object]:
    from lxml import etree

    w = ff.W_NS
    numbering = etree.fromstring(f'<w:numbering xmlns:w="{w}">{abstract}{nums}</w:numbering>')
    style_el = etree.fromstring(f'<w:styles xmlns:w="{w}">{styles}</w:styles>')
    return numbering, style_el


def _para(ppr: str = "") -> object:
    from lxml import etree

    return etree.fromstring(f'<w:p xmlns:w="{ff.W_NS}"><w:pPr>{ppr}</w:pPr></w:p>')


def _numpr(num: int, ilvl: int) -> str:
    return f'<w:numPr><w:ilvl w:val="{ilvl}"/><w:numId w:val="{num}"/></w:numPr>'


LEVELS = ('<w:abstractNum w:abstractNumId="1">'
          '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:pStyle w:val="H1"/>'
          '<w:suff w:val="nothing"/><w:lvlText w:val="%1、"/></w:lvl>'
          '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="chineseCountingThousand"/><w:lvlText w:val="（%2）"/></w:lvl>'
          '<w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="decimalFullWidth"/><w:lvlText w:val="%3．"/>'
          '<w:suff w:val="space"/></w:lvl>'
          '<w:lvl w:ilvl="3"><w:start w:val="1"/><w:lvlRestart w:val="0"/><w:numFmt w:val="ideographTraditional"/>'
          '<w:lvlText w:val="%4、"/></w:lvl>'
          '<w:lvl w:ilvl="4"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:isLgl/><w:lvlText w:val="%2.%5"/></w:lvl>'
          '</w:abstractNum>')


def test_numbering_levels_restarts_and_style_links():
    from llm_extract.ingest.formats.numbering import Numbering

    nums = ('<w:num w:numId="1"><w:abstractNumId w:val="1"/></w:num>'
            '<w:num w:numId="2"><w:abstractNumId w:val="1"/>'
            '<w:lvlOverride w:ilvl="1"><w:startOverride w:val="7"/></w:lvlOverride></w:num>')
    styles = ('<w:style w:type="paragraph" w:styleId="H1"><w:pPr><w:numPr><w:numId w:val="1"/></w:numPr></w:pPr></w:style>'
              '<w:style w:type="paragraph" w:styleId="H1b"><w:basedOn w:val="H1"/></w:style>'
              '<w:style w:type="paragraph" w:styleId="Plain"><w:basedOn w:val="H1"/>'
              '<w:pPr><w:numPr><w:numId w:val="0"/></w:numPr></w:pPr></w:style>')
    numbering = Numbering(*_numbering(LEVELS, nums, styles))
    style = '<w:pStyle w:val="{}"/>'.format
    seq = [
        (style("H1"), ("一、", "")),  # style-linked: its level from the lvl's pStyle
        (_numpr(1, 1), ("（一）", "\t")),
        (_numpr(1, 2), ("１．", " ")),
        (_numpr(1, 2), ("２．", " ")),
        (_numpr(1, 3), ("甲、", "\t")),
        (_numpr(1, 4), ("1.1", "\t")),  # isLgl: the level-2 counter shown in decimal
        (_numpr(1, 1), ("（二）", "\t")),
        (_numpr(1, 2), ("１．", " ")),  # restarts after a higher level
        (_numpr(1, 3), ("乙、", "\t")),  # lvlRestart 0: never restarts
        (style("H1b"), ("二、", "")),  # through basedOn
        (style("Plain"), None),  # numId 0 removes the style's numbering
        (_numpr(2, 1), ("（七）", "\t")),  # startOverride restarts where the num is first used
        (_numpr(2, 1), ("（八）", "\t")),
        (_numpr(1, 1), ("（九）", "\t")),  # both nums share one abstract list: counting continues
    ]
    assert [numbering.label(_para(ppr)) for ppr, _ in seq] == [want for _, want in seq]


def test_numbering_through_a_numbering_style_link():
    from llm_extract.ingest.formats.numbering import Numbering

    abstract = LEVELS + ('<w:abstractNum w:abstractNumId="2"><w:numStyleLink w:val="CNList"/></w:abstractNum>')
    nums = ('<w:num w:numId="1"><w:abstractNumId w:val="1"/></w:num>'
            '<w:num w:numId="3"><w:abstractNumId w:val="2"/></w:num>')
    styles = '<w:style w:type="numbering" w:styleId="CNList"><w:pPr><w:numPr><w:numId w:val="1"/></w:numPr></w:pPr></w:style>'
    numbering = Numbering(*_numbering(abstract, nums, styles))
    assert numbering.label(_para(_numpr(3, 0))) == ("一、", "")
    assert numbering.label(_para(_numpr(3, 1))) == ("（一）", "\t")


# --- bad input ---------------------------------------------------------------------------------------
def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def _scanned_pdf(blank: bool = False) -> bytes:
    """A page that is a picture (a scan: an image, no text objects), or a blank page."""
    from PIL import Image, ImageDraw
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    if not blank:
        scan = Image.new("L", (400, 560), 255)
        draw = ImageDraw.Draw(scan)
        for i in range(30):
            draw.line((20, 20 + 18 * i, 380, 20 + 18 * i), fill=0, width=3)
        page.drawInlineImage(scan, 72, 120, width=450, height=630)
    page.showPage()
    page.save()
    return out.getvalue()


def _encrypted_pdf() -> bytes:
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out, encrypt=pdfencrypt.StandardEncryption("secret"))  # a user password
    page.drawString(72, 720, "report")
    page.showPage()
    page.save()
    return out.getvalue()


def _empty_pdf() -> bytes:
    import pypdfium2 as pdfium

    out = io.BytesIO()
    pdf = pdfium.PdfDocument.new()
    pdf.save(out)
    pdf.close()
    return out.getvalue()


@cache
def _bad_files() -> dict[str, tuple[bytes, str]]:
    good_docx = fixture_bytes(REPORT_FILES[4].name, "docx")
    good_pdf = fixture_bytes(REPORT_FILES[4].name, "pdf")
    cfb = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
    return {
        "plain.zip.docx": (_zip({"hello.txt": b"not a document"}), "a zip file, not a .docx"),
        "truncated.docx": (good_docx[: len(good_docx) // 2], "not a .docx"),
        "locked.docx": (cfb + "EncryptedPackage".encode("utf-16-le") + b"\0" * 64, "password-protected"),
        "renamed-doc.docx": (cfb + b"\0" * 64, "old-format Word/WPS file"),
        "noise.docx": (bytes(range(256)) * 8, "not a .docx"),
        "truncated.pdf": (good_pdf[: len(good_pdf) // 3], "corrupt PDF"),
        "empty.pdf": (_empty_pdf(), "empty PDF (no pages)"),
        "scanned.pdf": (_scanned_pdf(), "no text layer"),  # OCR'd when the extra is installed: no text on it
        "blank.pdf": (_scanned_pdf(blank=True), "empty PDF (1 blank page)"),
        "locked.pdf": (_encrypted_pdf(), "password-protected PDF"),
        "noise.pdf": (bytes(range(256)) * 8, "not a PDF"),
        "zero.pdf": (b"", "empty file"),
        "nav-only.html": (b"<html><body><ul><li><a href='/'>\xe9\xa6\x96\xe9\xa1\xb5</a></li></ul></body></html>",
                          "no article text found"),
        "script-only.html": (JS_PAGE.encode(), "was the article loaded by JavaScript?"),
        "noise.html": (bytes(range(1, 256)) * 8, ""),
        "blank.htm": (b"   \n", "empty file"),
    }


BAD_FILES = ["plain.zip.docx", "truncated.docx", "locked.docx", "renamed-doc.docx", "noise.docx", "truncated.pdf",
             "empty.pdf", "scanned.pdf", "blank.pdf", "locked.pdf", "noise.pdf", "zero.pdf", "nav-only.html",
             "script-only.html", "noise.html", "blank.htm"]
JS_PAGE = """<html><head><title>关于2023年法治政府建设情况的报告</title><script src="/app.js"></script></head><body>
<div class="head"><ul class="nav"><li><a href="/">首页</a></li><li><a href="/zwgk/">政务公开</a></li></ul></div>
<div id="app"></div><noscript>请开启JavaScript</noscript>
<div class="footer"><p>主办单位：县人民政府办公室</p><p>网站标识码：6325250001 青ICP备18000123号-1</p></div></body></html>"""


def test_bad_file_list_is_complete():
    assert sorted(BAD_FILES) == sorted(_bad_files())


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_files_are_one_clear_reason(tmp_path, name):
    from llm_extract.errors import InputError

    data, reason = _bad_files()[name]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError) as caught:
        load(path)
    message = str(caught.value)
    assert reason in message and "\n" not in message and len(message) < 240, message


def test_doc_and_wps_without_libreoffice_say_how_to_install_it(tmp_path, monkeypatch):
    from llm_extract.errors import InputError

    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    for suffix in ("doc", "wps"):
        path = tmp_path / f"report.{suffix}"
        path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1000)
        with pytest.raises(InputError, match="needs LibreOffice.*apt-get install libreoffice-writer"):
            load(path)


@pytest.mark.skipif(__import__("shutil").which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_doc_and_wps_through_libreoffice_keep_the_numbering(tmp_path):
    """LibreOffice writes the .doc from the .docx fixture, and reads it back for us. Report 004
    has no numbering slips: LibreOffice's .doc export does not keep a list's restart value
    (startOverride), so a round trip through .doc renumbers the slips of 000 and 003 from 1 (the
    metrics all agree). The .wps is that .doc renamed: WPS Writer files are Word-binary compound
    files, which LibreOffice recognises by content."""
    import subprocess

    name = REPORT_FILES[4].name
    source = tmp_path / "report.docx"
    source.write_bytes(fixture_bytes(name, "docx"))
    subprocess.run(["soffice", f"-env:UserInstallation={(tmp_path / 'p').as_uri()}", "--headless", "--convert-to",
                    "doc", "--outdir", str(tmp_path / "out"), str(source)], check=True, capture_output=True, timeout=180)
    doc_file = tmp_path / "out" / "report.doc"
    wps_file = tmp_path / "out" / "report.wps"
    wps_file.write_bytes(doc_file.read_bytes())
    for path in (doc_file, wps_file):
        doc = load(path)
        assert doc.source_format == path.suffix[1:] and doc.converter.startswith("LibreOffice ")
        run = extract_document(doc, RulesLabeller())
        assert sections(run) == sections(txt_run(name))
        assert set(metric_keys(txt_run(name))) <= set(metric_keys(run))
