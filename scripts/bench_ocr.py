"""OCR of scanned reports: accuracy against the text layer, and time per page.

    python scripts/bench_ocr.py                 # the first 2 pages of each report in reports/
    python scripts/bench_ocr.py --pages 1 --reports 1 --dpi 200

Needs the extra: pip install -e '.[ocr]'. For each report, the PDF fixture of
tests/support/formatfixtures.py (reportlab, A4, 16 pt STSong, running header and page numbers) is cut to
its first N pages; that PDF's text layer is the reference. The same pages are rendered to
greyscale pictures and wrapped into an image-only PDF (tests/support/scanfixtures.py), which the
converter OCRs. Printed per report and in total:
- characters: 1 - edit distance / reference length, whitespace removed on both sides
  (Levenshtein, rapidfuzz);
- metrics: the share of the text version's metrics (code-only rules backend: value, range, unit
  and quote without whitespace) that the OCR'd version has too;
- seconds of OCR per page (conversion time of the scan over its pages; the machine's load counts).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llm_extract.ingest.documents import Document
from llm_extract.run.extract import extract_document
from llm_extract.ingest.formats import convert
from llm_extract.label.labellers import RulesLabeller
from tests.support import formatfixtures as ff
from tests.support import scanfixtures as sf


def first_pages(pdf: bytes, pages: int) -> bytes:
    import io

    import pypdfium2 as pdfium

    source = pdfium.PdfDocument(pdf)
    target = pdfium.PdfDocument.new()
    target.import_pages(source, list(range(min(pages, len(source)))))
    out = io.BytesIO()
    target.save(out)
    return out.getvalue()


def metric_keys(text: str, name: str) -> Counter:
    doc = Document(doc_id=name, path=Path(name), text=text)
    run = extract_document(doc, RulesLabeller())
    return Counter((m.value, m.value_max, m.unit, re.sub(r"\s+", "", m.quote)) for m in run.metrics)


def measure(text: str, name: str, pages: int, dpi: int) -> dict[str, float]:
    from rapidfuzz.distance import Levenshtein

    pdf = first_pages(ff.pdf_bytes(text), pages)
    reference = convert(pdf, ".pdf")
    scan = sf.scanned_pdf(pdf, dpi=dpi)
    started = time.perf_counter()
    ocred = convert(scan, ".pdf")
    seconds = time.perf_counter() - started
    a, b = re.sub(r"\s+", "", reference.text), re.sub(r"\s+", "", ocred.text)
    wanted, got = metric_keys(reference.text, name), metric_keys(ocred.text, name)
    found = sum((wanted & got).values())
    return {"pages": len(ocred.pages) or pages, "chars": len(a), "distance": Levenshtein.distance(a, b),
            "metrics": sum(wanted.values()), "found": found, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2, help="pages of each report to scan (default 2)")
    parser.add_argument("--reports", type=int, default=5, help="how many reports of reports/ (default 5)")
    parser.add_argument("--dpi", type=int, default=200, help="scan resolution (default 200)")
    args = parser.parse_args()
    from llm_extract.ingest.formats import ocr

    if not ocr.available():
        raise SystemExit(f"OCR is not installed: {ocr.EXTRA_HINT}")
    print(ocr.converter_name())
    total = Counter()
    for path in sorted((ROOT / "reports").glob("*.txt"))[:args.reports]:
        from llm_extract.ingest.documents import load

        r = measure(load(path).text, path.name, args.pages, args.dpi)
        total.update(r)
        print(f"{path.name}: {r['pages']} pages, characters {1 - r['distance'] / r['chars']:.2%} "
              f"({r['distance']} edits in {r['chars']}), metrics {r['found']}/{r['metrics']}, "
              f"OCR {r['seconds'] / r['pages']:.1f} s/page")
    print(f"total: {total['pages']} pages, characters {1 - total['distance'] / total['chars']:.2%}, "
          f"metrics {total['found']}/{total['metrics']} ({total['found'] / max(total['metrics'], 1):.1%}), "
          f"OCR {total['seconds'] / total['pages']:.1f} s/page")


if __name__ == "__main__":
    main()
