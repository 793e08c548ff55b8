"""Per-format agreement with the .txt runs, and conversion time per file.

    python scripts/formats_agreement.py            # from the repository root, after pip install -e .
    python scripts/formats_agreement.py --dir DIR  # your own files: DIR/x.txt beside DIR/x.pdf, x.docx, x.html

For each report in reports/ and each format, a fixture generated from the .txt is converted and
extracted with the code-only rules backend: .docx with Word numbering and a table, and HTML
portal page (tests/support/formatfixtures.py), and PDFs from three typesetters: reportlab's paragraphs
with headers and page numbers (the one the tests of every report use), a typesetter that wraps
anywhere, also inside numbers, justified (tests/support/wrapfixtures.py), and LibreOffice (the .docx
fixture converted by soffice, when installed). With --dir, the files found there are used
instead, each compared with the .txt of the same name (real reports kept outside the project).

Value-level agreement: each metric is placed by where its quote ends in the text without
whitespace (texts aligned with difflib, so a dropped header does not shift what follows). A
.txt metric is "equal" when the other run has a metric there with the same value, range, unit and
quote (whitespace aside); "value differs" counts metrics there whose value, range or unit is
another (a wrong number: must be 0); "lost" and "extra" the rest of each side. Also whether the
sections equal the .txt run's, the exact quotes, problems, numbers refused as split by a line
break (dropped), and the conversion time (the best of 3 loads, which includes reading and hashing
the file). Then, for the HTML library choice, how much of each report's body trafilatura (used)
and readability-lxml (if installed; not a dependency) keep, and how many portal strings leak.
"""

from __future__ import annotations

import argparse
import difflib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from bisect import bisect_right
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llm_extract.ingest.documents import load
from llm_extract.run.extract import extract_document
from llm_extract.label.labellers import RulesLabeller
from tests.support import formatfixtures as ff
from tests.support import wrapfixtures as wf


def wrapping_pdf(text: str) -> bytes:
    """The report in the typesetter that wraps anywhere (inside numbers), justified, 16 pt."""
    return wf.typeset_pdf([line.strip() for line in text.split("\n") if line.strip()], 16, True, 2)


def office_pdf_bytes(text: str) -> bytes:
    """The .docx fixture typeset by LibreOffice."""
    return _soffice(ff.docx_bytes(text), "pdf")


MAKERS = {"docx": ff.docx_bytes, "pdf": ff.pdf_bytes, "pdf-wraps": wrapping_pdf, "html": ff.html_page}


def _soffice(docx: bytes, target: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "r.docx").write_bytes(docx)
        subprocess.run(["soffice", f"-env:UserInstallation={(folder / 'p').as_uri()}", "--headless", "--convert-to",
                        target, "--outdir", str(folder), str(folder / "r.docx")], check=True, capture_output=True)
        return (folder / f"r.{target}").read_bytes()


def doc_bytes(text: str) -> bytes:
    """The .docx fixture saved as .doc by LibreOffice (only when soffice is installed)."""
    return _soffice(ff.docx_bytes(text), "doc")


if shutil.which("soffice"):
    MAKERS["pdf-office"] = office_pdf_bytes
    MAKERS["doc"] = doc_bytes
SUFFIX = {"pdf-wraps": "pdf", "pdf-office": "pdf"}


def keys(run, exact=False):
    return [(m.value, m.value_max, m.unit, m.quote if exact else ff.squash(m.quote)) for m in run.metrics]


def squashed_ends(text: str, metrics) -> list[int]:
    """Where each metric's quote ends in the text without whitespace."""
    kept = [i for i, ch in enumerate(text) if not ch.isspace()]
    return [bisect_right(kept, m.char_end - 1) for m in metrics]


def place_map(base_text: str, other_text: str):
    """Maps a position in the other text without whitespace to the base's, where they agree."""
    a, b = ff.squash(base_text), ff.squash(other_text)
    blocks = difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()

    def to_base(pos: int) -> int | None:
        for block in blocks:
            if block.b < pos <= block.b + block.size:  # the quote's last character is in this block
                return block.a + pos - block.b
        return None
    return to_base


def agreement(base, run) -> dict[str, int]:
    """Value-level agreement of run with the .txt run base (see the module's docstring)."""
    to_base = place_map(base.text, run.text)
    at_base = dict(zip(squashed_ends(base.text, base.metrics), base.metrics))
    counts = {"equal": 0, "value differs": 0, "lost": 0, "extra": 0}
    matched = set()
    for end, metric in zip(squashed_ends(run.text, run.metrics), run.metrics):
        place = to_base(end)
        theirs = at_base.get(place) if place is not None else None
        if theirs is None:
            counts["extra"] += 1
            continue
        matched.add(place)
        same_value = (metric.value, metric.value_max, metric.unit) == (theirs.value, theirs.value_max, theirs.unit)
        if not same_value:
            counts["value differs"] += 1
        elif ff.squash(metric.quote) == ff.squash(theirs.quote):
            counts["equal"] += 1
        else:
            counts["extra"] += 1  # the same number quoted otherwise
    counts["lost"] = len(base.metrics) - counts["equal"] - counts["value differs"]
    return counts


def compare(label: str, fmt: str, base, path: Path) -> tuple[int, int, int]:
    """One row of the table; returns (equal, differing, .txt metrics)."""
    best = float("inf")
    doc = None
    for _ in range(3):
        started = time.perf_counter()
        doc = load(path)
        best = min(best, time.perf_counter() - started)
    run = extract_document(doc, RulesLabeller())
    same = [(s.level, s.number, s.title) for s in run.sections] == [(s.level, s.number, s.title) for s in base.sections]
    counts = agreement(base, run)
    exact = sum(k in keys(run, True) for k in keys(base, True))
    n = len(base.metrics)
    print(f"| {label} | {fmt} | {'yes' if same else 'NO'} | {counts['equal']}/{n} ({100 * counts['equal'] / max(n, 1):.1f}%) "
          f"| {counts['value differs']} | {counts['lost']} | {counts['extra']} | {exact}/{n} "
          f"| {len(run.problems)}/{len(base.problems)} | {run.dropped} | {1000 * best:.0f} |")
    return counts["equal"], counts["value differs"], n


HEADER = ("| report | format | sections equal | metrics equal (value and quote) | value differs | lost | extra "
          "| exact quotes | problems | dropped | conversion ms |\n|---|---|---|---|---|---|---|---|---|---|---|")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, help="compare the files in DIR with the .txt of the same name")
    parser.add_argument("--no-html-libraries", action="store_true", help="skip the HTML library comparison")
    args = parser.parse_args()
    totals: dict[str, list[int]] = {}
    print(HEADER)
    if args.dir is not None:
        for report in sorted(args.dir.glob("*.txt")):
            base = extract_document(load(report), RulesLabeller())
            for other in sorted(p for p in args.dir.glob(f"{glob_escape(report.stem)}.*") if p.suffix != ".txt"):
                row = compare(report.stem[:12], other.suffix[1:], base, other)
                _add(totals, other.suffix[1:], row)
        _print_totals(totals)
        return
    tmp = Path(tempfile.mkdtemp(prefix="formats-"))
    for report in sorted((ROOT / "reports").glob("*.txt")):
        base = extract_document(load(report), RulesLabeller())
        text = load(report).text
        for fmt, make in MAKERS.items():
            path = tmp / f"{report.stem}.{fmt}.{SUFFIX.get(fmt, fmt)}"
            path.write_bytes(make(text))
            _add(totals, fmt, compare(report.name[:3], fmt, base, path))
    _print_totals(totals)
    if not args.no_html_libraries:
        html_libraries(tmp)


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def _add(totals: dict[str, list[int]], fmt: str, row: tuple[int, int, int]) -> None:
    total = totals.setdefault(fmt, [0, 0, 0])
    for i, value in enumerate(row):
        total[i] += value


def _print_totals(totals: dict[str, list[int]]) -> None:
    print("\n| format | metrics equal | value differs |\n|---|---|---|")
    for fmt, (equal, differs, n) in totals.items():
        print(f"| {fmt} | {equal}/{n} ({100 * equal / max(n, 1):.1f}%) | {differs} |")


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
