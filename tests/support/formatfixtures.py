"""Reports as users have them, generated from the plain-text reports in reports/ (no binary
fixtures in the repository):

- `docx_bytes`: every heading of the .txt report is a Word list paragraph whose numeral is
  generated from numbering.xml (chineseCounting for 一、 and （一）, decimal for 1. and （1）), not
  typed: level-1 headings through their paragraph style (style-linked numbering), the others
  through their own numPr; a number that does not follow on (a slip such as a repeated （四）, or
  a list that continues elsewhere) is reproduced with a restart (lvlOverride/startOverride).
  A table is inserted after the first paragraph under the first level-1 heading.
- `pdf_bytes`: reportlab with its built-in CID font STSong-Light, 16 pt (三号) on A4 with
  first-line indents like an official document, a running header and "— N —" page numbers.
- `html_page`: a county portal's article page: navigation, breadcrumb, title, publication line,
  sharing links, related articles, footer, scripts and styles around the body.
"""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass
from typing import ClassVar

from llm_extract.propose.candidates import find_candidates
from llm_extract.label.issuers import title_line
from llm_extract.propose.segment import HEADING_PATTERNS, _match_heading

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
CN = "一二三四五六七八九"


def cn_to_int(numeral: str) -> int:
    if numeral.isdigit():
        return int(numeral)
    if numeral == "十":
        return 10
    if numeral.startswith("十"):
        return 10 + CN.index(numeral[1]) + 1
    if "十" in numeral:
        tens, _, ones = numeral.partition("十")
        return (CN.index(tens) + 1) * 10 + (CN.index(ones) + 1 if ones else 0)
    return CN.index(numeral) + 1


@dataclass(frozen=True)
class Heading:
    level: int  # 1..3, as segment reads it
    template: str  # the mark with its numeral as %n: "%1、", "（%2）", "(%2)", "%3."
    number: int
    chinese: bool
    rest: str  # the line after the mark, as typed (may start with a space)


def heading_of(line: str) -> Heading | None:
    if _match_heading(line) is None:
        return None
    for level, pattern in HEADING_PATTERNS:
        match = pattern.match(line)
        if match is None:
            continue
        mark, num = match.group("mark"), match.group("num")
        local = match.start("num") - match.start("mark")
        template = mark[:local] + f"%{level}" + mark[local + len(num):]
        return Heading(level, template, cn_to_int(num), not num.isdigit(), line[match.end("mark"):])
    return None


def table_rows(text: str, n: int = 3) -> list[list[str]]:
    """A small table made of the report's own first counted quantities: (what, how many)."""
    rows = [["项目", "数量"]]
    for c in find_candidates(text):
        if c.is_excluded or c.quantity.is_chinese:
            continue
        lead = text[c.quote_start:c.quantity.start].strip()
        if len(lead) >= 2:
            rows.append([lead, text[c.quantity.start:c.quantity.end]])
        if len(rows) > n:
            break
    return rows


def _paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


# --- .docx ---------------------------------------------------------------------------------------
def docx_bytes(text: str, with_table: bool = True) -> bytes:
    import docx
    from docx.enum.style import WD_STYLE_TYPE
    from docx.oxml import parse_xml

    document = docx.Document()
    numbering = document.part.numbering_part.element
    heading_style = document.styles.add_style("CN Heading 1", WD_STYLE_TYPE.PARAGRAPH)
    builder = _NumberingBuilder(numbering, heading_style.style_id)
    rows = table_rows(text) if with_table else []
    table_pending = False
    for line in _paragraphs(text):
        heading = heading_of(line)
        if heading is None:
            document.add_paragraph(line)
            if table_pending:
                table = document.add_table(rows=len(rows), cols=2)
                for r, row in enumerate(rows):
                    for c, cell in enumerate(row):
                        table.cell(r, c).text = cell
                table_pending = False
            continue
        num_id, direct = builder.num_for(heading)
        paragraph = document.add_paragraph(heading.rest.lstrip() if heading.rest[:1] != " " else heading.rest)
        if heading.level == 1 and not direct and builder.style_linked(heading):
            paragraph.style = heading_style
        else:
            ppr = paragraph._p.get_or_add_pPr()
            ppr.append(parse_xml(f'<w:numPr xmlns:w="{W_NS}"><w:ilvl w:val="{heading.level - 1}"/>'
                                 f'<w:numId w:val="{num_id}"/></w:numPr>'))
        if heading.level == 1 and with_table and rows and builder.level1_count == 1:
            table_pending = True
    builder.finish(heading_style)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


class _NumberingBuilder:
    """abstractNum/num definitions for the headings, counting as Word does to know where a restart
    is needed (the converter under test counts independently; a mismatch shows as wrong labels)."""

    MAIN: ClassVar[dict[int, tuple[str, bool]]] = {1: ("%1、", True), 2: ("（%2）", True), 3: ("%3.", False)}

    def __init__(self, numbering, style_id: str) -> None:
        self.numbering = numbering
        self.style_id = style_id
        self.abstracts: dict[tuple[int, str, bool], int] = {}  # (level, template, chinese) -> abstractNumId
        self.next_abstract = 100
        self.main = self._abstract_num(dict(self.MAIN), linked_style=style_id)
        self.main_num = self._num(self.main, {})
        self.counters: dict[int, list[int | None]] = {}
        self.current: dict[int, int] = {}  # abstract -> num in use
        self.level1_count = 0

    def style_linked(self, heading: Heading) -> bool:
        return self.MAIN[1] == (heading.template, heading.chinese)

    def _abstract_num(self, levels: dict[int, tuple[str, bool]], linked_style: str | None = None) -> int:
        from docx.oxml import parse_xml

        aid = self.next_abstract
        self.next_abstract += 1
        lvls = []
        for ilvl in range(9):
            template, chinese = levels.get(ilvl + 1, (f"%{ilvl + 1}.", False))
            style = f'<w:pStyle w:val="{linked_style}"/>' if linked_style and ilvl == 0 else ""
            lvls.append(f'<w:lvl w:ilvl="{ilvl}"><w:start w:val="1"/>'
                        f'<w:numFmt w:val="{"chineseCounting" if chinese else "decimal"}"/>{style}'
                        f'<w:suff w:val="nothing"/><w:lvlText w:val="{html.escape(template, quote=True)}"/>'
                        f'<w:lvlJc w:val="left"/></w:lvl>')
        el = parse_xml(f'<w:abstractNum xmlns:w="{W_NS}" w:abstractNumId="{aid}">'
                       f'<w:multiLevelType w:val="multilevel"/>{"".join(lvls)}</w:abstractNum>')
        first_num = self.numbering.find(f"{{{W_NS}}}num")
        if first_num is not None:
            first_num.addprevious(el)
        else:
            self.numbering.append(el)
        for level, (template, chinese) in levels.items():
            self.abstracts.setdefault((level, template, chinese), aid)
        return aid

    def _num(self, aid: int, starts: dict[int, int]) -> int:
        from docx.oxml import parse_xml

        nid = 200 + len(self.numbering.findall(f"{{{W_NS}}}num"))
        overrides = "".join(f'<w:lvlOverride w:ilvl="{lvl - 1}"><w:startOverride w:val="{start}"/></w:lvlOverride>'
                            for lvl, start in starts.items())
        self.numbering.append(parse_xml(f'<w:num xmlns:w="{W_NS}" w:numId="{nid}"><w:abstractNumId w:val="{aid}"/>'
                                        f'{overrides}</w:num>'))
        return nid

    def num_for(self, heading: Heading) -> tuple[int, bool]:
        """(numId, needs direct numPr) for this heading, after counting it."""
        key = (heading.level, heading.template, heading.chinese)
        aid = self.abstracts.get(key)
        if aid is None:
            aid = self._abstract_num({heading.level: (heading.template, heading.chinese)})
        counters = self.counters.setdefault(aid, [None] * 9)
        ilvl = heading.level - 1
        expected = 1 if counters[ilvl] is None else counters[ilvl] + 1
        num = self.current.get(aid, self.main_num if aid == self.main else None)
        direct = False
        if num is None or expected != heading.number:
            num = self._num(aid, {heading.level: heading.number} if expected != heading.number else {})
            self.current[aid] = num
            direct = True
        counters[ilvl] = heading.number
        for deeper in range(ilvl + 1, 9):
            counters[deeper] = None
        # Counters of other lists are not reset by this one (Word keeps them per list).
        if heading.level == 1:
            self.level1_count += 1
        return num, direct

    def finish(self, heading_style) -> None:
        from docx.oxml import parse_xml

        ppr = heading_style.element.get_or_add_pPr()
        ppr.append(parse_xml(f'<w:numPr xmlns:w="{W_NS}"><w:ilvl w:val="0"/><w:numId w:val="{self.main_num}"/></w:numPr>'))


# --- PDF -----------------------------------------------------------------------------------------
def pdf_bytes(text: str, header: str | None = None, indent: int = 2) -> bytes:
    """indent: first-line indent in characters (2 in official documents; 0 for block paragraphs)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    body = ParagraphStyle("body", fontName="STSong-Light", fontSize=16, leading=28, firstLineIndent=16 * indent, wordWrap="CJK")
    running = header if header is not None else (title_line(text) or "")

    def furniture(canvas, doc) -> None:
        canvas.setFont("STSong-Light", 10)
        canvas.drawCentredString(A4[0] / 2, A4[1] - 40, running)
        canvas.drawCentredString(A4[0] / 2, 30, f"— {doc.page} —")

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, title="report")
    doc.build([Paragraph(html.escape(line), body) for line in _paragraphs(text)],
              onFirstPage=furniture, onLaterPages=furniture)
    return out.getvalue()


# --- HTML ----------------------------------------------------------------------------------------
def html_page(text: str, encoding: str = "utf-8") -> bytes:
    title = title_line(text)  # a report without a title line gets a page with none: the portal's name only
    rows = table_rows(text)
    paragraphs = []
    for i, line in enumerate(_paragraphs(text)):
        escaped = html.escape(line)
        heading = heading_of(line)
        if heading is not None and heading.level == 1:
            paragraphs.append(f'<p style="text-indent:2em"><strong>{escaped}</strong></p>')
        else:
            paragraphs.append(f'<p style="text-indent:2em;">\u3000\u3000{escaped}</p>' if i % 3 else f"<p>{escaped}</p>")
    table = "<table border='1'>" + "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows) + "</table>"
    page = f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset={encoding}">
<title>{html.escape(title) + "_" if title else ""}政务公开_县人民政府门户网站</title>
<style>.nav li{{float:left}} .footer{{color:#666}}</style>
<script type="text/javascript">var _hmt = _hmt || []; document.write("访问量 12345 次");</script>
</head><body>
<div class="head"><div class="logo">县人民政府门户网站</div>
<ul class="nav"><li><a href="/">首页</a></li><li><a href="/zwgk/">政务公开</a></li><li><a href="/bsfw/">办事服务</a></li>
<li><a href="/hdjl/">互动交流</a></li><li><a href="/zjxq/">走进县情</a></li></ul>
<form class="search"><input name="q" value="请输入关键字"><button>搜索</button></form></div>
<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt; <a href="/zwgk/fzzf/">法治政府建设</a></div>
<div class="main"><div class="article">
{f'<h1 class="title">{html.escape(title)}</h1>' if title else ""}
<div class="info">发布时间：2025-01-20 10:30 来源：司法局 浏览次数：<span>358</span>次 【字号：大 中 小】</div>
<div class="TRS_Editor" id="zoom">
{"".join(paragraphs[:4])}
{table}
{"".join(paragraphs[4:])}
</div>
<div class="share">分享到：微信 微博 【打印本页】 【关闭窗口】</div>
</div>
<div class="related"><h3>相关文章</h3><ul><li><a href="/a/1.html">关于印发2025年普法工作要点的通知</a><span>2025-01-18</span></li>
<li><a href="/a/2.html">全县召开法治政府建设推进会 部署12项重点任务</a><span>2025-01-12</span></li></ul></div></div>
<div class="footer"><p>主办单位：县人民政府办公室 承办：县政务服务数据管理局</p>
<p>网站标识码：6325250001 <a href="https://beian.miit.gov.cn/">青ICP备18000123号-1</a> 公安备案号 63252502000123号</p>
<p>联系电话：0974-8512345 建议使用1920×1080分辨率</p>
<script>var zoom = 16; function doZoom(size) {{ zoom = size; }}</script></div>
</body></html>"""
    return page.encode(encoding)


# Texts of the page that are not the report: none may reach the extracted text.
HTML_FURNITURE = ("首页", "办事服务", "当前位置", "浏览次数", "分享到", "相关文章", "网站标识码", "主办单位",
                  "ICP备", "访问量", "请输入关键字", "doZoom", "_hmt", "联系电话")


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)
