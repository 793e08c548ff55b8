"""The local review web app: thin Starlette handlers over decisions, queue and render.

Safety, in order of what a request meets:
  - it listens on 127.0.0.1 unless the user passes another --host;
  - the Host header must name this server (a DNS-rebinding page under another name is refused);
  - every write carries this session's random token in X-Review-Token (403 without it: another
    local page cannot read the token, so it cannot post decisions) and, if the browser sends an
    Origin, this server's own;
  - bodies are JSON of at most 64 KiB validated by pydantic (decisions.DecisionIn, extra fields
    refused); documents are named by their sha256 only, never by a path;
  - the only write is an INSERT into `reviews` (Store.append_review).
The database file is opened per request, read-only for pages, so `llm-extract sql` can read it
while the page is open.
"""

from __future__ import annotations

import hmac
import re
import secrets
import socket
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from llm_extract.propose.candidates import Candidate
from llm_extract.label.categories import settled_category
from llm_extract.errors import LlmExtractError, ReviewError, StoreError
from llm_extract.propose.names import code_name
from llm_extract.propose.numbers import find_quantities
from llm_extract.store.database import Store
from llm_extract.review import charts, compare, decisions, queue
from llm_extract.review.decisions import DecisionIn, DocReview
from llm_extract.review.render import HERE, environment
from llm_extract.review.view import SHORTCUTS, view_context

DOC_ID = re.compile(r"^[0-9a-f]{64}$")
MAX_BODY = 64 * 1024
TOKEN_HEADER = "x-review-token"


class ReviewApp:
    """The app's state: which database, who reviews, this session's token."""

    def __init__(self, db: Path, reviewer: str, token: str, allowed_hosts: list[str], wait: float = 10.0) -> None:
        self.db, self.reviewer, self.token, self.wait = db, decisions.check_reviewer(reviewer), token, wait
        self.lock = threading.Lock()  # one connection at a time: DuckDB refuses mixed configurations
        self.env = environment()
        self.app = Starlette(
            routes=[
                Route("/", self.index),
                Route("/doc/{doc_id}", self.document),
                Route("/compare", self.compare),
                Route("/api/doc/{doc_id}/parse", self.parse),
                Route("/api/doc/{doc_id}/decide", self.decide, methods=["POST"]),
                Route("/api/doc/{doc_id}/accept-rest", self.accept_rest, methods=["POST"]),
                Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
            ],
            middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts, www_redirect=False)],
            exception_handlers={LlmExtractError: self._error},
        )

    # --- pages ----------------------------------------------------------------------------------
    def index(self, request: Request) -> Response:
        with self.lock, Store(self.db, read_only=True, wait=self.wait) as store:
            docs = decisions.documents(store)
        return self._page("index.html", docs=docs, shortcuts=SHORTCUTS, reviewer=self.reviewer)

    def document(self, request: Request) -> Response:
        review = self._load(request)
        docs = [d["doc_id"] for d in self._documents()]
        at = docs.index(review.doc["doc_id"]) if review.doc["doc_id"] in docs else -1
        following = docs[at + 1] if 0 <= at < len(docs) - 1 else None
        return self._page("doc.html", **view_context(review), token=self.token, reviewer=self.reviewer,
                          shortcuts=SHORTCUTS, next_doc=following, inline_css=None, inline_js=None)

    def compare(self, request: Request) -> Response:
        """One indicator across documents (sorted bars, each linked to its quote) and every
        document's items by area (stacked bars). ?indicator=ID&what=metrics|problems"""
        asked = request.query_params.get("what", "metrics")
        if asked not in ("metrics", "problems"):
            raise ReviewError("what is metrics or problems")
        what: compare.What = "problems" if asked == "problems" else "metrics"
        with self.lock, Store(self.db, read_only=True, wait=self.wait) as store:
            choices = compare.stated(store)
            ids = [ind.id for ind, _ in choices]
            most = max(choices, key=lambda pair: pair[1], default=None)  # first in catalogue order on a tie
            chosen = request.query_params.get("indicator") or (most[0].id if most and most[1] else "")
            if chosen and chosen not in ids:
                raise ReviewError(f"unknown indicator {chosen!r}: choose one from the list")
            points = compare.points(store, chosen) if chosen else []
            spreads = compare.spreads(store, what)
        current = next((ind for ind, _ in choices if ind.id == chosen), None)
        return self._page("compare.html", choices=choices, chosen=current, points=points,
                          value_svg=charts.value_bars(points), area_svg=charts.area_bars(spreads),
                          spreads=spreads, what=what, areas=compare.area_order(), max_rows=charts.MAX_ROWS,
                          reviewer=self.reviewer)

    # --- reading API ----------------------------------------------------------------------------
    def parse(self, request: Request) -> Response:
        """The readings of a selection, with the name and category code would give it."""
        review = self._load(request)
        kind = request.query_params.get("kind", "metric")
        try:
            start, end = int(request.query_params["start"]), int(request.query_params["end"])
        except (KeyError, ValueError):
            raise ReviewError("parse needs integer start and end") from None
        if kind not in ("metric", "problem"):
            raise ReviewError("kind is metric or problem")
        text = review.text
        start, end = decisions.span_of(text, start, end, kind)  # type: ignore[arg-type]
        quote = text[start:end]
        if kind == "problem":
            return JSONResponse({"char_start": start, "char_end": end, "quote": quote, "readings": [],
                                 "summary": quote[:25], "category": "other"})
        found = find_quantities(quote)
        name = ""
        if found:  # the name code gives the last number of the selection, read in the whole text
            last = found[-1]
            shifted = replace(last, start=last.start + start, end=last.end + start,
                              num_start=last.num_start + start, num_end=last.num_end + start)
            name = code_name(text, Candidate(shifted, start, shifted.end, None))
        return JSONResponse({"char_start": start, "char_end": end, "quote": quote, "name": name,
                             "category": settled_category(quote) or "other",
                             "readings": [{"value": q.value, "value_max": q.value_max, "unit": q.unit,
                                           "approx": q.approx, "label": decisions.describe(q)} for q in found]})

    # --- writing API ----------------------------------------------------------------------------
    async def decide(self, request: Request) -> Response:
        body = await self._checked_body(request)
        try:
            decision = DecisionIn.model_validate_json(body)
        except ValidationError as exc:
            return _bad_request(exc)
        doc_id = _doc_id(request)
        return await _in_thread(lambda: self._write(doc_id, lambda store: decisions.decide(
            store, doc_id, decision, self.reviewer)))

    async def accept_rest(self, request: Request) -> Response:
        await self._checked_body(request)
        doc_id = _doc_id(request)

        def write(store: Store) -> DocReview:
            decisions.accept_rest(store, doc_id, self.reviewer)
            return decisions.load(store, doc_id)
        return await _in_thread(lambda: self._write(doc_id, write))

    def _write(self, doc_id: str, change: Any) -> Response:
        with self.lock, Store(self.db, wait=self.wait) as store:
            review = change(store)
        queue.flag(review)
        return JSONResponse(self._fragments(review))

    def _fragments(self, review: DocReview) -> dict[str, Any]:
        context = view_context(review)
        return {"text_html": str(context["text_html"]),
                "list_html": self.env.get_template("_items.html").render(**context, token=self.token),
                "items": context["items_data"], "progress": context["progress"]}

    async def _checked_body(self, request: Request) -> bytes:
        """A write's body, after its token, origin, content type and size are checked; a refusal
        is raised as _Refused, which answers with its HTTP status."""
        sent = request.headers.get(TOKEN_HEADER, "")
        if not hmac.compare_digest(sent.encode(), self.token.encode()):
            raise _Refused(403, "missing or wrong session token: reload the review page")
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host')}":
            raise _Refused(403, f"refused a write from another origin ({origin})")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise _Refused(415, "send JSON (Content-Type: application/json)")
        # Refused as soon as it is too long: by its declared length before reading any of it, and
        # while it streams in (chunked, or a length that lies), never after holding all of it.
        too_long = _Refused(413, f"a decision is at most {MAX_BODY} bytes")
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.strip().isdigit() or int(declared) > MAX_BODY):
            raise too_long
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                raise too_long
            chunks.append(chunk)
        return b"".join(chunks)

    # --- helpers --------------------------------------------------------------------------------
    def _load(self, request: Request) -> DocReview:
        doc_id = _doc_id(request)
        with self.lock, Store(self.db, read_only=True, wait=self.wait) as store:
            review = decisions.load(store, doc_id)
        queue.flag(review)
        return review

    def _documents(self) -> list[dict[str, Any]]:
        with self.lock, Store(self.db, read_only=True, wait=self.wait) as store:
            return decisions.documents(store)

    def _page(self, name: str, **context: Any) -> HTMLResponse:
        html = self.env.get_template(name).render(**context)
        return HTMLResponse(html, headers=SECURITY_HEADERS)

    async def _error(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, _Refused):
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        status = 404 if isinstance(exc, _NotFound) else 503 if isinstance(exc, StoreError) else 400
        message = " ".join(str(exc).split())
        if "json" in request.headers.get("accept", "") or request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=status)
        return HTMLResponse(self.env.get_template("error.html").render(message=message), status_code=status,
                            headers=SECURITY_HEADERS)


# Pages load their script and style from this server only; nothing may frame them.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class _Refused(LlmExtractError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _NotFound(ReviewError):
    pass


def _doc_id(request: Request) -> str:
    doc_id = str(request.path_params["doc_id"])
    if not DOC_ID.match(doc_id):
        raise _NotFound("documents are named by their doc_id (64 hex digits)")
    return doc_id


def _bad_request(exc: ValidationError) -> JSONResponse:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return JSONResponse({"error": f"invalid decision: {where}: {first['msg']}"}, status_code=400)


async def _in_thread(call: Any) -> Any:
    from starlette.concurrency import run_in_threadpool
    return await run_in_threadpool(call)


class ReviewServer:
    """The app on a socket bound before it starts, so the URL is known (port 0: a free one)."""

    def __init__(self, db: Path, reviewer: str, host: str = "127.0.0.1", port: int = 0, wait: float = 10.0) -> None:
        self.token = secrets.token_urlsafe(32)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((host, port))
        except OSError as exc:
            self.sock.close()
            raise ReviewError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        self.host, self.port = host, self.sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}/"
        loopback = {"127.0.0.1", "localhost", "::1", "[::1]"}
        allowed = ["*"] if host in ("0.0.0.0", "::") else sorted(loopback | {host, shown})
        self.review = ReviewApp(db, reviewer, self.token, allowed, wait=wait)
        self.server = uvicorn.Server(uvicorn.Config(self.review.app, log_level="warning", lifespan="off",
                                                    access_log=False))
        self.thread: threading.Thread | None = None

    def run(self) -> None:
        """Serve until Ctrl-C (uvicorn stops gracefully on SIGINT)."""
        self.server.run(sockets=[self.sock])

    def start(self) -> None:
        """Serve from a background thread (tests); returns once the server accepts connections."""
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise ReviewError("the review server did not start")
            threading.Event().wait(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)
        self.sock.close()
