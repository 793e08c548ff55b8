"""The CLI reference in docs/cli.md, generated from `--help` (cog; CI runs `cog --check`).

    cog -r docs/cli.md      # after changing a command or its help
"""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from llm_extract.cli.app import app

ENV = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb", "LLM_EXTRACT_DB": ""}


def _help(args: list[str]) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], env=ENV, terminal_width=100, prog_name="llm-extract")
    lines = [line.rstrip() for line in result.output.splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    return "\n".join(lines).strip("\n")


def commands() -> list[list[str]]:
    root = typer.main.get_command(app)
    found: list[list[str]] = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]  # a click Group
        found.append([name])
        for sub in getattr(command, "commands", {}):
            found.append([name, sub])
    return found


def markdown() -> str:
    parts = ["## `llm-extract`\n\n```text\n" + _help([]) + "\n```\n"]
    for args in commands():
        parts.append(f"## `llm-extract {' '.join(args)}`\n\n```text\n{_help(args)}\n```\n")
    return "\n".join(parts)
