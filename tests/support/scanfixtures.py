"""Scanned reports, as a scanner or a phone makes them: each page of a text PDF rendered to a
greyscale picture (pypdfium2, 200 dpi by default) and the pictures wrapped into a new PDF with
no text layer (Pillow writes each page as one JPEG image, as most scanners do)."""

from __future__ import annotations

import io


def scanned_pdf(pdf: bytes, dpi: int = 200, pages: int | None = None, stamp: bool = False) -> bytes:
    """An image-only PDF of the first `pages` pages of `pdf` (all by default). `stamp` draws a
    red seal over the last page's lower right, as an office stamps a signed report."""
    import pypdfium2 as pdfium
    from PIL import ImageDraw

    document = pdfium.PdfDocument(pdf)
    images = []
    try:
        count = len(document) if pages is None else min(pages, len(document))
        for index in range(count):
            page = document[index]
            image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            page.close()
            if stamp and index == count - 1:
                image = image.convert("RGB")
                draw = ImageDraw.Draw(image)
                w, h = image.size
                cx, cy, r = int(w * 0.72), int(h * 0.80), int(dpi * 0.8)
                draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(220, 40, 40), width=max(3, dpi // 40))
            images.append(image)
    finally:
        document.close()
    out = io.BytesIO()
    images[0].save(out, format="PDF", resolution=dpi, save_all=True, append_images=images[1:], quality=85)
    return out.getvalue()
