"""Prompt templates live as files in prompts/; their content hash is the prompt version."""

from __future__ import annotations

import hashlib
import os
from functools import cached_property
from pathlib import Path

import jinja2

from llm_extract.errors import ConfigError

TEMPLATE_SUFFIX = ".j2"


def default_prompt_dir() -> Path:
    """LLM_EXTRACT_PROMPTS, else prompts/ of the source checkout, else the packaged copy."""
    env = os.environ.get("LLM_EXTRACT_PROMPTS")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[3] / "prompts"
    if checkout.is_dir():
        return checkout
    return Path(__file__).resolve().parent / "prompts"


class Prompts:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or default_prompt_dir()
        if not self.folder.is_dir():
            raise ConfigError(f"prompt folder {self.folder} not found; set LLM_EXTRACT_PROMPTS")
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.folder),
            undefined=jinja2.StrictUndefined,  # a missing variable is a bug, not an empty string
            keep_trailing_newline=False,
            autoescape=False,
        )

    @cached_property
    def version(self) -> str:
        """sha256 over every template's name and bytes: any edit is a new version."""
        digest = hashlib.sha256()
        for path in sorted(self.folder.glob(f"*{TEMPLATE_SUFFIX}")):
            digest.update(path.name.encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
        return digest.hexdigest()[:16]

    def render(self, name: str, **variables: object) -> str:
        try:
            return self.env.get_template(f"{name}{TEMPLATE_SUFFIX}").render(**variables).strip()
        except jinja2.TemplateNotFound as exc:
            raise ConfigError(f"prompt template {name}{TEMPLATE_SUFFIX} missing from {self.folder}") from exc

    def messages(self, task: str, **variables: object) -> list[dict[str, str]]:
        """One system prompt shared by every task, first and constant, so the server's prefix cache
        holds it across task switches; only the task's schema and user part are evaluated anew."""
        return [
            {"role": "system", "content": self.render("system")},
            {"role": "user", "content": self.render(f"{task}.user", **variables)},
        ]
