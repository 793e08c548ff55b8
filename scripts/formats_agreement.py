"""Per-format agreement with the .txt runs, and conversion time per file.

    python scripts/formats_agreement.py            # from the repository root, after pip install -e .

For each report in reports/ and each format, the fixture of tests/support/formatfixtures.py (generated
from the .txt: .docx with Word numbering and a table, PDF with headers and page numbers, HTML
portal page) is converted and extracted with the code-only rules backend. Prints whether the
sections equal the .txt run's, the share of the .txt run's metrics found again (value, range,
unit and quote without whitespace; and with the quote exactly), problems, and the conversion
time (the best of 3 loads, which includes reading and hashing the file). Then, for the HTML
library choice, how much of each report's body trafilatura (used) and readability-lxml (if
installed; not a dependency) keep, and how many portal strings leak into their text.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llm_extract.ingest.documents import load
from llm_extract.run.extract import extract_document
from llm_extract.label.labellers import RulesLabeller
from tests.support import formatfixtures as ff

MAKERS = {"docx": ff.docx_bytes, "pdf": ff.pdf_bytes, "html": ff.html_page}


def doc_bytes(text: str) -> bytes:
    """The .docx fixture saved as .doc by LibreOffice (only when soffice is installed)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "r.docx").write_bytes(ff.docx_bytes(text))
        subprocess.run(["soffice", f"-env:UserInstallation={(folder / 'p').as_uri()}", "--headless", "--convert-to",
                        "doc", "--outdir", str(folder), str(folder / "r.docx")], check=True, capture_output=True)
        return (folder / "r.doc").read_bytes()


if shutil.which("soffice"):
    MAKERS["doc"] = doc_bytes


def keys(run, exact=False):
    return [(m.value, m.value_max, m.unit, m.quote if exact else ff.squash(m.quote)) for m in run.metrics]


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="formats-"))
    print("| report | format | sections equal | metrics found again | exact quotes | problems | conversion ms |")
    print("|---|---|---|---|---|---|---|")
    pages = {}
    for report in sorted((ROOT / "reports").glob("*.txt")):
        base = extract_document(load(report), RulesLabeller())
        text = load(report).text
        for fmt, make in MAKERS.items():
            path = tmp / f"{report.stem}.{fmt}"
            path.write_bytes(make(text))
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                doc = load(path)
                best = min(best, time.perf_counter() - started)
            run = extract_document(doc, RulesLabeller())
            same = [(s.level, s.number, s.title) for s in run.sections] == [(s.level, s.number, s.title) for s in base.sections]
            found = sum(k in keys(run) for k in keys(base))
            exact = sum(k in keys(run, True) for k in keys(base, True))
            n = len(base.metrics)
            print(f"| {report.name[:3]} | {fmt} | {'yes' if same else 'NO'} | {found}/{n} ({100 * found / max(n, 1):.0f}%) "
                  f"| {exact}/{n} | {len(run.problems)}/{len(base.problems)} | {1000 * best:.0f} |")
            if fmt == "pdf":
                pages[report.name[:3]] = len(doc.pages)
    print(f"\nPDF pages per report: {pages}")
    html_libraries(tmp)


def html_libraries(tmp: Path) -> None:
    import trafilatura

    try:
        from readability import Document as Readability
    except ImportError:
        Readability = None
    print("\n| report | library | body lines kept | portal strings leaked |")
    print("|---|---|---|---|")
    for report in sorted((ROOT / "reports").glob("*.txt")):
        text = load(report).text
        page = ff.html_page(text).decode()
        wanted = [ff.squash(line) for line in text.split("\n") if line.strip()]
        outputs = {"trafilatura (used)": load(_write(tmp, report, page)).text}
        outputs["trafilatura.extract defaults"] = trafilatura.extract(page, include_tables=True) or ""
        if Readability is not None:
            from lxml import html as lxml_html

            summary = Readability(page).summary(html_partial=True)
            outputs["readability-lxml"] = lxml_html.fromstring(summary).text_content()
        for name, out in outputs.items():
            flat = ff.squash(out)
            kept = sum(line in flat for line in wanted)
            leaked = [s for s in ff.HTML_FURNITURE if s in out]
            print(f"| {report.name[:3]} | {name} | {kept}/{len(wanted)} | {len(leaked)} {' '.join(leaked)} |")


def _write(tmp: Path, report: Path, page: str) -> Path:
    path = tmp / f"{report.stem}.page.html"
    path.write_text(page, encoding="utf-8")
    return path


if __name__ == "__main__":
    main()
