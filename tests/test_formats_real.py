"""Converters on files made outside this project's own fixture code (tests/fixtures/, written by
tests/fixtures/make_fixtures.py with LibreOffice and reportlab) and on scans of a page.

What each file says is written here as a person reads it on the rendered page, cell by cell, not
as any converter printed it. Real government files could not be fetched (no network beyond the
package registries), so these stand in for them; see make_fixtures.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from llm_extract.ingest.documents import Document, load
from llm_extract.run.extract import extract_document
from llm_extract.ingest.formats import convert, ocr
from llm_extract.label.labellers import RulesLabeller
from llm_extract.schemas import Extraction
from tests.support import formatfixtures as ff
from tests.support import scanfixtures as sf
from tests.support.paths import REPORTS

FIXTURES = Path(__file__).parent / "fixtures"
needs_ocr = pytest.mark.skipif(not ocr.available(), reason=f"OCR is not installed ({ocr.EXTRA_HINT})")
needs_soffice = pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def run(doc: Document) -> Extraction:
    return extract_document(doc, RulesLabeller())


def metric_in(run_: Extraction, value: float, unit: str, words: str):
    found = [m for m in run_.metrics if m.value == value and m.unit == unit and words in m.quote]
    assert found, f"no metric {value} {unit} quoting {words!r}: {[(m.value, m.unit, m.quote) for m in run_.metrics]}"
    return found[0]


# --- a Word report exported to PDF by LibreOffice: a ruled table ------------------------------------
# Read on the page: a 5-column grid; 序号 and 被纠错率 wrap inside their narrow header cells
# (序/号, 被纠/错率), 办理情况 spans the two columns 受理 and 办结 below it, 序号, 案件类别 and
# 被纠错率 span both header rows; 行政复议案件 wraps to 行政复议案/件, 行政诉讼案件（一审） to three
# lines, 政府信息公开申请 to two, 7.1% to 7.1/%.
RULED_ROWS = [
    "序号\t案件类别\t办理情况\t被纠错率",
    "\t\t受理\t办结\t",
    "1\t行政复议案件\t14件\t12件\t7.1%",
    "2\t行政诉讼案件（一审）\t9件\t9件\t0%",
    "3\t政府信息公开申请\t31件\t31件\t—",
]


@cache
def ruled() -> Document:
    return load(FIXTURES / "table_ruled.pdf")


def test_ruled_table_rows_are_lines_with_tab_separated_cells_in_reading_order():
    doc = ruled()
    lines = doc.text.split("\n")
    at = lines.index(RULED_ROWS[0])
    assert lines[at:at + len(RULED_ROWS)] == RULED_ROWS
    # Where the table stands: after its caption, before the paragraph under it.
    assert squash(lines[at - 1]) == "表1行政复议和行政诉讼办理情况"
    assert squash(lines[at + len(RULED_ROWS)]).startswith("（二）强化普法宣传")
    assert sum("\t" in line for line in lines) == len(RULED_ROWS)  # no paragraph read as a table
    assert not [line for line in lines if len(line.strip()) == 1]  # no stacked one-character cells
    assert doc.pages == ((1, 0, len(doc.text)),)
    assert doc.converter.startswith("pypdfium2 ") and "pdfplumber" in doc.converter


def test_ruled_table_on_a_page_whose_mediabox_does_not_start_at_zero(tmp_path):
    """pdfplumber and PDFium measure from different corners; a MediaBox with its origin elsewhere
    (as cropped or imposed pages have) must still put the table where PDFium's lines were."""
    import io

    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(FIXTURES / "table_ruled.pdf")
    page = pdf[0]
    left, bottom, right, top = page.get_mediabox()
    page.set_mediabox(left - 30, bottom - 50, right - 30, top - 50)
    page.set_cropbox(left - 30, bottom - 50, right - 30, top - 50)
    out = io.BytesIO()
    pdf.save(out)
    path = tmp_path / "shifted.pdf"
    path.write_bytes(out.getvalue())
    assert load(path).text == ruled().text


def test_a_table_on_page_two_keeps_its_page(tmp_path):
    import io

    import pypdfium2 as pdfium

    first = pdfium.PdfDocument(ff.pdf_bytes(load(sorted(REPORTS.glob("*.txt"))[1]).text))
    merged = pdfium.PdfDocument.new()
    merged.import_pages(first, [0])
    merged.import_pages(pdfium.PdfDocument(FIXTURES / "table_ruled.pdf"))
    out = io.BytesIO()
    merged.save(out)
    path = tmp_path / "two.pdf"
    path.write_bytes(out.getvalue())
    doc = load(path)
    (p1, s1, e1), (p2, s2, e2) = doc.pages
    assert (p1, s1, p2, e2) == (1, 0, 2, len(doc.text)) and e1 <= s2
    rows = doc.text.index(RULED_ROWS[0]), doc.text.index(RULED_ROWS[-1]) + len(RULED_ROWS[-1])
    assert s2 <= rows[0] and rows[1] <= e2


def test_ruled_table_counts_are_metrics_quoting_their_row():
    result = run(ruled())
    metric_in(result, 14, "件", "行政复议案件")
    metric_in(result, 9, "件", "行政诉讼案件（一审）")
    metric_in(result, 31, "件", "政府信息公开申请")
    rate = metric_in(result, 7.1, "%", "7.1%")  # wrapped inside its cell as 7.1 / %
    assert "\n" not in rate.quote
    # The body around the table is read as before.
    metric_in(result, 426, "次", "执法检查")
    metric_in(result, 3200, "份", "宣传资料")


# --- a PDF typeset by reportlab, table without rules ------------------------------------------------
ALIGNED_ROWS = ["项目\t场次\t参与人数", "法治讲座\t12场\t860人", "送法下乡\t25场\t1340人", "线上普法\t8场\t5200人次"]


def test_aligned_table_without_rules_is_found_by_its_columns():
    doc = load(FIXTURES / "table_aligned.pdf")
    lines = doc.text.split("\n")
    at = lines.index(ALIGNED_ROWS[0])
    assert lines[at:at + len(ALIGNED_ROWS)] == ALIGNED_ROWS
    assert lines[at - 1] == "表2 普法宣传情况" and lines[at + len(ALIGNED_ROWS)] == "二、下一步打算"
    assert sum("\t" in line for line in lines) == len(ALIGNED_ROWS)
    result = run(doc)
    metric_in(result, 12, "场", "法治讲座")
    metric_in(result, 25, "场", "送法下乡")
    metric_in(result, 8, "场", "线上普法")


def test_text_pdfs_without_tables_get_no_tabs():
    """Ordinary pages (the issue-12 fixtures: justified paragraphs, headings, page furniture)
    are never read as tables."""
    for path in sorted(REPORTS.glob("*.txt"))[:2]:
        assert "\t" not in convert(ff.pdf_bytes(load(path).text), ".pdf").text


# --- .docx parts: header, footer, footnote, text box ------------------------------------------------
# Read in Word: the header says 东河县司法局 法治政府建设年度报告; the footer only "- 1 -" (a PAGE
# field); footnote 1 on the mediation count says 含线上调解纠纷37件。; a text box anchored in that
# paragraph says 全年培训人民调解员86人次。
PARTS_BODY = ["东河县司法局2024年法治政府建设年度报告", "一、主要工作",
              "全年办理法律援助案件96件，人民调解组织调解纠纷418件。", "全年培训人民调解员86人次。",
              "二、存在的问题", "部分乡镇法律顾问服务次数偏少。"]
PARTS_AFTER = ["东河县司法局 法治政府建设年度报告", "注1：含线上调解纠纷37件。"]


def check_parts(doc: Document) -> None:
    assert doc.text.split("\n") == PARTS_BODY + PARTS_AFTER  # body in order; text box at its anchor
    assert "- 1 -" not in doc.text and not re.search(r"^\W*1\W*$", doc.text, re.MULTILINE)
    note = doc.text.index("注1：")
    assert (note, note + 3) in doc.generated  # the note's mark is generated: never a number
    result = run(doc)
    metric_in(result, 37, "件", "线上调解纠纷")
    metric_in(result, 86, "人次", "人民调解员")
    assert not [m for m in result.metrics if m.char_start <= note + 1 < m.char_end]


def test_docx_header_footnote_and_text_box_are_read_page_number_footer_is_not():
    check_parts(load(FIXTURES / "parts.docx"))


@needs_soffice
def test_doc_saved_by_libreoffice_reads_the_same():
    doc = load(FIXTURES / "parts.doc")
    assert doc.source_format == "doc" and doc.converter.startswith("LibreOffice ")
    check_parts(doc)


# --- scans ------------------------------------------------------------------------------------------
# A one-page report composed for this test; scanned at 200 dpi with a red seal on it.
SCAN_TEXT = """南川县人民政府办公室2024年法治政府建设年度报告
一、主要工作
2024年，我办共审核规范性文件23件，提出修改意见41条，审核重大行政决策事项6项。
（一）推进政务公开。全年主动公开政府信息1865条，办理依申请公开27件，按期答复率100%。
（二）化解矛盾纠纷。组织开展矛盾纠纷排查12次，化解纠纷93件，接待来访群众310人次。
二、存在的问题
一是部分工作人员法治意识不强；二是行政执法监督力量薄弱，专职人员仅有4名。
南川县人民政府办公室
2025年1月15日"""


@cache
def scan_pair() -> tuple[bytes, bytes]:
    text_pdf = ff.pdf_bytes(SCAN_TEXT, header="")
    return text_pdf, sf.scanned_pdf(text_pdf, stamp=True)


@needs_ocr
def test_scan_is_ocred_in_reading_order_and_its_items_come_first_in_review(tmp_path):
    """Through the CLI into a real database: the scan and its text-layer twin. The scan's
    characters ≥ 98% right (edit distance), ≥ 95% of the twin's metrics found with equal value,
    unit and quote; documents.converter says OCR; review lists the scan first and flags its items."""
    from rapidfuzz.distance import Levenshtein

    from llm_extract.review import decisions, queue
    from llm_extract.store.database import Store

    text_pdf, scan = scan_pair()
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a_text.pdf").write_bytes(text_pdf)
    (folder / "b_scan.pdf").write_bytes(scan)
    db = tmp_path / "r.duckdb"
    done = subprocess.run([sys.executable, "-m", "llm_extract", "run", str(folder), "--backend", "rules", "--db", str(db)],
                          check=False, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    with Store(db) as store:
        docs = {Path(r["path"]).name: r for r in store.query("SELECT doc_id, path, text, converter FROM documents")}
        text_doc, scan_doc = docs["a_text.pdf"], docs["b_scan.pdf"]
        assert scan_doc["converter"].startswith("OCR rapidocr_onnxruntime") and not text_doc["converter"].startswith("OCR")
        a, b = squash(text_doc["text"]), squash(scan_doc["text"])
        assert 1 - Levenshtein.distance(a, b) / len(a) >= 0.98, scan_doc["text"]
        # Reading order: the lines as on the page, the heading lines their own.
        assert scan_doc["text"].split("\n")[:2] == ["南川县人民政府办公室2024年法治政府建设年度报告", "一、主要工作"]

        def keys(doc_id: str) -> list[tuple]:
            return [(r["value"], r["unit"], squash(r["quote"])) for r in
                    store.query("SELECT value, unit, quote FROM metrics WHERE doc_id = ? ORDER BY char_start", [doc_id])]

        wanted, got = keys(text_doc["doc_id"]), keys(scan_doc["doc_id"])
        assert len(wanted) >= 10
        assert sum(1 for k in wanted if k in got) >= 0.95 * len(wanted), (wanted, got)
        pages = store.query("SELECT page, char_start, char_end FROM pages WHERE doc_id = ?", [scan_doc["doc_id"]])
        assert [(p["page"], p["char_start"], p["char_end"]) for p in pages] == [(1, 0, len(scan_doc["text"]))]
        listed = decisions.documents(store)
        assert Path(listed[0]["path"]).name == "b_scan.pdf" and listed[0]["ocr"]
        review = decisions.load(store, scan_doc["doc_id"])
        queue.flag(review)
        assert review.items and all("ocr" in item.flags for item in review.items)
        twin = decisions.load(store, text_doc["doc_id"])
        queue.flag(twin)
        assert not any("ocr" in item.flags for item in twin.items)


def test_a_pdf_with_a_text_layer_is_never_ocred(tmp_path):
    """A text page followed by a scanned one: only the text layer is read (no OCR, whether or
    not the extra is installed)."""
    import io

    import pypdfium2 as pdfium

    text_pdf, scan = scan_pair()
    merged = pdfium.PdfDocument.new()
    merged.import_pages(pdfium.PdfDocument(text_pdf))
    merged.import_pages(pdfium.PdfDocument(scan))
    out = io.BytesIO()
    merged.save(out)
    path = tmp_path / "mixed.pdf"
    path.write_bytes(out.getvalue())
    doc = load(path)
    assert not doc.converter.startswith("OCR") and squash(doc.text).startswith("南川县人民政府办公室2024年")


def test_without_the_extra_a_scan_is_refused_naming_it(tmp_path, monkeypatch):
    from llm_extract.errors import InputError

    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)  # import fails as if not installed
    ocr._engine.cache_clear()
    path = tmp_path / "scan.pdf"
    path.write_bytes(scan_pair()[1])
    try:
        with pytest.raises(InputError) as caught:
            load(path)
    finally:
        ocr._engine.cache_clear()
    message = str(caught.value)
    assert "no text layer" in message and "pip install 'llm-extract[ocr]'" in message and "\n" not in message


def test_ocr_reading_order_groups_boxes_into_lines():
    """Boxes given out of order: lines by their vertical overlap, boxes left to right in each;
    a wide gap between two boxes of a line is a table's cell boundary (a tab)."""
    B = ocr.Box
    boxes = [B("第二行右", 240, 360, 62, 92), B("第一行", 100, 400, 10, 40), B("第二行左", 100, 220, 60, 90),
             B("项目", 100, 160, 120, 150), B("12件", 400, 450, 121, 151)]
    assert [text for text, _ in ocr.reading_order(boxes)] == ["第一行", "第二行左第二行右", "项目\t12件"]
