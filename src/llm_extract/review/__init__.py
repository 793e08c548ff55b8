"""Reviewing extractions: a person accepts, rejects, corrects and adds items; decisions are kept
append-only in `reviews` and applied by the `*_reviewed` views (see reviewsql).

Layers, each importing only those before it:
  decisions  the library: what a decision may say (pydantic), checked against the text with the
             extractor's own rules (numbers, ground), stored through Store. No web.
  queue      which items most need a reviewer's eyes.
  render     the document text with every item highlighted at its offsets (pure HTML).
  goldexport reviewed documents written in the gold/ format, checked before they are written.
  page       one self-contained static HTML report of a document.
  app        the local web app (Starlette): thin handlers over the modules above.
"""
