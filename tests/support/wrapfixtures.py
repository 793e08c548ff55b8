"""Text PDFs whose line wraps fall inside numbers, from three typesetters:

- `typeset_pdf`: lines set character by character on a reportlab canvas the way Chinese word
  processors do by default: a line may break anywhere, also inside a run of digits or Latin
  letters (允许西文在单词中间换行), a line never starts with closing punctuation (the character
  before it moves down with it), digits optionally in a Latin font beside the CJK one, and lines
  justified with character spacing (so they reach the right margin) or ragged;
- `platypus_pdf`: reportlab's own paragraph layout (wordWrap="CJK"), which keeps a run of digits
  together and so leaves a short line before a number that did not fit;
- `office_pdf`: a .docx written with python-docx and typeset by LibreOffice (soffice
  --convert-to pdf) in Noto CJK, justified or left-aligned; None when soffice is not installed.

The paragraphs are composed here: counted quantities of every shape (integers, decimals, ranges,
万元, %, thousands separators), each paragraph shifted by a few leading characters so that the
wraps of a page fall at every place inside the numbers.
"""

from __future__ import annotations

import html
import io
import shutil
import subprocess
import tempfile
from itertools import pairwise
from pathlib import Path

# Sentences of a county department's year, with numbers the wraps are to split.
BODIES = (
    ("全年共办理行政复议事项43项，受理群众信访件48件，开门接访102批次，矛盾纠纷化解率达100%，"
     "行政审批时限整体压缩92.42%，每季度组织执法人员培训1-2次，投入法治宣传专项资金356.8万元。"),
    ("全县共审查规范性文件27件，纠正违法或不当行政行为3起，办理人大代表建议和政协提案115件，"
     "群众满意率达到98.6%，法律顾问参与重大决策论证1,280人次，培训“法律明白人”312名，建成公共法律服务站点64个。"),
    ("年内开展行政执法案卷评查2次，评查案卷1356卷，发现问题0.5万余条，行政诉讼败诉率下降3.5个百分点，"
     "办理法律援助案件2,306件，为群众挽回经济损失1024.75万元，调解成功率为96%。"),
)
# Closing punctuation may not start a line (kinsoku): the typesetter carries a character down with it.
# % is left out, as some typesetters do (a wrap before it is one the converter must join).
NO_LINE_START = "，。、；：？！）》」』”’"

A4 = (595.2756, 841.8898)
MARGIN_X = 72.0
MARGIN_Y = 72.0


def paragraphs(count: int = 12, shift: str = "为推进") -> list[str]:
    """`count` paragraphs, each starting with a growing lead of `shift`'s characters so the
    wraps of successive paragraphs fall one character later in their numbers."""
    out = []
    for k in range(count):
        lead = (shift * (k // len(shift) + 1))[:k]
        out.append(lead + BODIES[k % len(BODIES)])
    return out


def _is_latin(ch: str) -> bool:
    return ch.isascii() and not ch.isspace()


def typeset_pdf(paras: list[str], size: float | tuple[float, ...] = 16, justify: bool = True, indent: int = 2,
                latin_font: str | None = "Times-Roman", break_in_words: bool = True,
                page_numbers: bool = True) -> bytes:
    """Set `paras` on A4 pages, one text object per line (see the module's docstring); `size`
    may be a tuple of font sizes the paragraphs take in turn."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    cjk = "STSong-Light"

    def font_of(ch: str) -> str:
        return latin_font if latin_font and _is_latin(ch) else cjk

    sizes = size if isinstance(size, tuple) else (size,)
    frame = A4[0] - 2 * MARGIN_X
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    y = A4[1] - MARGIN_Y
    number = 1

    def new_page() -> float:
        nonlocal number
        if page_numbers:
            page.setFont(cjk, 10)
            page.drawCentredString(A4[0] / 2, 36, f"— {number} —")
        page.showPage()
        number += 1
        return A4[1] - MARGIN_Y

    for k, para in enumerate(paras):
        size = sizes[k % len(sizes)]
        leading = size * 1.75

        def width(ch: str, size: float = size) -> float:
            return pdfmetrics.stringWidth(ch, font_of(ch), size)

        lines = _break_lines(para, frame, size * indent, width, break_in_words)
        for i, line in enumerate(lines):
            if y - size < MARGIN_Y:
                y = new_page()
            x0 = MARGIN_X + (size * indent if i == 0 else 0)
            natural = sum(width(ch) for ch in line)
            room = frame - (size * indent if i == 0 else 0)
            last = i == len(lines) - 1
            spacing = (room - natural) / (len(line) - 1) if justify and not last and len(line) > 1 else 0.0
            text = page.beginText(x0, y - size)
            text.setCharSpace(spacing)
            for run in _runs(line, font_of):
                text.setFont(font_of(run[0]), size)
                text.textOut(run)
            page.drawText(text)
            y -= leading
    if page_numbers:
        page.setFont(cjk, 10)
        page.drawCentredString(A4[0] / 2, 36, f"— {number} —")
    page.showPage()
    page.save()
    return out.getvalue()


def _break_lines(para: str, frame: float, indent: float, width, break_in_words: bool) -> list[str]:
    """Greedy line breaking: as many characters as fit; a closing mark never starts a line; with
    `break_in_words` off, a run of Latin letters and digits is never split (it moves down whole)."""
    lines: list[str] = []
    start, room = 0, frame - indent
    while start < len(para):
        end, used = start, 0.0
        while end < len(para) and used + width(para[end]) <= room + 1e-6:
            used += width(para[end])
            end += 1
        if end < len(para):
            if not break_in_words and _is_latin(para[end]) and _is_latin(para[end - 1]):
                back = end
                while back > start and _is_latin(para[back - 1]):
                    back -= 1
                end = back if back > start else end
            while end < len(para) and end - 1 > start and para[end] in NO_LINE_START:
                end -= 1  # carry the character before a closing mark down with it
        lines.append(para[start:end])
        start, room = end, frame
    return lines


def _runs(line: str, font_of) -> list[str]:
    runs: list[str] = []
    for ch in line:
        if runs and font_of(runs[-1][-1]) == font_of(ch):
            runs[-1] += ch
        else:
            runs.append(ch)
    return runs


def platypus_pdf(paras: list[str], size: float = 16, justify: bool = True, indent: int = 2) -> bytes:
    from reportlab.lib.enums import TA_JUSTIFY, TA_LEFT
    from reportlab.lib.pagesizes import A4 as RL_A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    style = ParagraphStyle("body", fontName="STSong-Light", fontSize=size, leading=size * 1.75,
                           firstLineIndent=size * indent, wordWrap="CJK",
                           alignment=TA_JUSTIFY if justify else TA_LEFT)
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=RL_A4).build([Paragraph(html.escape(p), style) for p in paras])
    return out.getvalue()


def office_available() -> bool:
    return shutil.which("soffice") is not None


def office_pdf(paras: list[str], size: float = 16, justify: bool = True, indent: int = 2,
               font: str = "Noto Serif CJK SC") -> bytes | None:
    """The paragraphs as a .docx typeset by LibreOffice, or None without soffice."""
    if not office_available():
        return None
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt

    document = docx.Document()
    normal = document.styles["Normal"]
    normal.font.size = Pt(size)
    normal.font.name = font
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), font)
    for para in paras:
        p = document.add_paragraph(para)
        p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY if justify else WD_ALIGN_PARAGRAPH.LEFT
        p.paragraph_format.first_line_indent = Pt(size * indent)
        p.paragraph_format.space_after = Pt(0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        document.save(folder / "r.docx")
        subprocess.run(["soffice", f"-env:UserInstallation={(folder / 'profile').as_uri()}", "--headless",
                        "--convert-to", "pdf", "--outdir", str(folder), str(folder / "r.docx")],
                       check=True, capture_output=True, timeout=300)
        return (folder / "r.pdf").read_bytes()


def wraps(data: bytes) -> list[tuple[str, str]]:
    """The (end, start) of each pair of consecutive lines as PDFium breaks them: where the
    typesetter wrapped, before any joining."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        lines = []
        for i in range(len(pdf)):
            textpage = pdf[i].get_textpage()
            lines += [line.strip() for line in textpage.get_text_range().splitlines() if line.strip()]
            textpage.close()
    finally:
        pdf.close()
    return list(pairwise(lines))


def wrap_kinds(data: bytes) -> set[str]:
    """Which kinds of wrap inside a quantity the PDF has: digit|digit, point|digit, digit|point,
    digit|%, digit|unit (a Chinese character right after the digits), range (1-|2 or 1|-2)."""
    kinds = set()
    for a, b in wraps(data):
        end, start = a[-1], b[0]
        if end.isdigit() and start.isdigit():
            kinds.add("digit|digit")
        elif end == "." and start.isdigit():
            kinds.add("point|digit")
        elif end.isdigit() and start == ".":
            kinds.add("digit|point")
        elif end.isdigit() and start == "%":
            kinds.add("digit|%")
        elif (end == "-" and start.isdigit()) or (end.isdigit() and start == "-"):
            kinds.add("range")
        elif end.isdigit() and "\u4e00" <= start <= "\u9fff":
            kinds.add("digit|unit")
    return kinds
