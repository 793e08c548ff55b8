"""The docs stay true: links lead somewhere, the README stays a short guide that names only
commands the CLI has, and dated figures and revision hashes stay out of it (they belong in
docs/benchmarks.md and CHANGELOG.md). Offline and fast."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from llm_extract.cli.app import app
from tests.support.paths import ROOT

README = ROOT / "README.md"
PAGES = sorted([README, ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")])
README_MAX_LINES = 200

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]+`")
# [text](target) and ![alt](target); a target has no spaces (an optional "title" may follow).
LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_SRC = re.compile(r"""<(?:img|a)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto:, …
COMMAND = re.compile(r"\bllm-extract[ \t]+([a-z][a-z-]*)(?:[ \t]+([a-z][a-z-]*))?")
# A revision hash: 7 to 40 hex digits standing alone, with at least one letter and one digit
# (so that neither a number nor an English word is taken for one).
HASH = re.compile(r"(?<![\w./-])(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}(?![\w-])")
DATE = re.compile(r"(?<!\d)(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?!\d)")


def prose(markdown: str) -> str:
    """The text outside code blocks and code spans: where links are links."""
    return INLINE_CODE.sub("", FENCE.sub("", markdown))


def code(markdown: str) -> list[str]:
    """The code blocks and code spans: where commands are written."""
    return [m.group(0) for m in FENCE.finditer(markdown)] + INLINE_CODE.findall(FENCE.sub("", markdown))


def relative_links(markdown: str) -> list[str]:
    text = prose(markdown)
    targets = LINK.findall(text) + HTML_SRC.findall(text)
    return [t for t in targets if not EXTERNAL.match(t) and not t.startswith("#")]


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in relative_links(page.read_text(encoding="utf-8")):
        path = target.split("#", 1)[0].split("?", 1)[0]
        if not (page.parent / path).exists():
            broken.append(target)
    return broken


def mentioned_commands(markdown: str) -> set[tuple[str, str | None]]:
    found = set()
    for snippet in code(markdown):
        for command, sub in COMMAND.findall(snippet):
            found.add((command, sub or None))
    return found


def cli_commands() -> dict[str, set[str] | None]:
    """The CLI's commands, each with its subcommands (None for a plain command). Typer's command
    classes are its own (it vendors click), so groups are told by their `commands`."""
    top = getattr(typer.main.get_command(app), "commands", {})
    return {name: set(getattr(command, "commands", {})) or None for name, command in top.items()}


def unknown_commands(markdown: str) -> list[str]:
    commands = cli_commands()
    unknown = []
    for command, sub in sorted(mentioned_commands(markdown), key=str):
        if command not in commands:
            unknown.append(command)
            continue
        group = commands[command]
        if group is not None and sub is not None and sub not in group:
            unknown.append(f"{command} {sub}")
    return unknown


def dated_lines(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if HASH.search(line) or DATE.search(line)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_to_an_existing_file(page: Path) -> None:
    assert broken_links(page) == []


def test_the_readme_is_a_short_guide() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines (at most {README_MAX_LINES})"


def test_the_readme_names_only_commands_the_cli_has() -> None:
    text = README.read_text(encoding="utf-8")
    assert mentioned_commands(text), "the README should show how the commands are used"
    assert unknown_commands(text) == []


def test_the_readme_holds_no_revision_hash_and_no_date() -> None:
    assert dated_lines(README.read_text(encoding="utf-8")) == []


def test_the_readme_links_every_docs_page() -> None:
    linked = {Path(t.split("#", 1)[0]).name for t in relative_links(README.read_text(encoding="utf-8"))}
    assert sorted(p.name for p in (ROOT / "docs").glob("*.md") if p.name not in linked) == []


# The checkers themselves, on composed text: each must catch what it is for.

def test_a_broken_link_is_caught_and_code_is_not_read_as_links(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("x", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](there.md#part) [gone](missing.md) ![pic](img/none.png) [web](https://example.org/x)\n"
        "[anchor](#top) `[not](a-link.md)`\n```\n[nor](this.md)\n```\n<img src=\"nope.png\">\n",
        encoding="utf-8")
    assert broken_links(page) == ["missing.md", "img/none.png", "nope.png"]


def test_the_cli_is_read_with_its_groups() -> None:
    commands = cli_commands()
    assert commands["run"] is None
    assert {"prepare", "collect"} <= (commands["batch"] or set())


def test_commands_are_read_from_code_and_checked_against_the_cli() -> None:
    text = ("`llm-extract` feeds them.\n```bash\nllm-extract run reports/\nllm-extract frobnicate x\n"
            "llm-extract batch prepare r/ -o q.jsonl\nllm-extract batch explode\n```\n")
    assert mentioned_commands(text) == {("run", "reports"), ("frobnicate", "x"), ("batch", "prepare"),
                                        ("batch", "explode")}
    assert unknown_commands(text) == ["batch explode", "frobnicate"]


@pytest.mark.parametrize("line, dated", [
    ("measured at f673cd3 on the five reports", True),
    ("compare with 9aad089..HEAD", True),
    ("Measured 2026-11-23 on this machine", True),
    ("a doc_id prefix such as 002_f3ad0f8b935bdfdd.txt is a file name", False),
    ("10,000 reports in 352.1 s; 1234567 rows", False),
    ("the feedbac deadbeef words are not hashes", False),
    ("ids like disputes.reconsideration_cases", False),
])
def test_revision_hashes_and_dates_are_told_from_numbers_and_names(line: str, dated: bool) -> None:
    assert bool(dated_lines(line)) is dated
