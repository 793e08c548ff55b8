"""Settings from flags, LLM_EXTRACT_* environment variables and a .env file.

Precedence: explicit flag > LLM_EXTRACT_* > OPENAI_* > .env > default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from llm_extract.schemas import ModelLabel, Namer

Mode = Literal["tools", "json_schema", "json", "md_json"]

LOCAL_MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LLM_EXTRACT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        protected_namespaces=(),  # "model_path" is ours, not pydantic's
    )

    base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("LLM_EXTRACT_BASE_URL", "OPENAI_BASE_URL", "base_url"),
        description="OpenAI-compatible endpoint; unset means the embedded local model.",
    )
    model: str | None = Field(
        default=None,
        validation_alias=AliasChoices("LLM_EXTRACT_MODEL", "model"),
    )
    api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("LLM_EXTRACT_API_KEY", "OPENAI_API_KEY", "api_key"),
    )
    mode: Mode | None = Field(default=None, description="instructor mode; None picks per endpoint")
    concurrency: int | None = Field(default=None, ge=1, le=64)
    db: Path = Path("llm_extract.duckdb")
    # A run opens the database only to write a document; if readers (sql, show, export, another
    # tool) have it open then, it waits this long for them before it stops, keeping what it saved.
    lock_wait: float = Field(default=600.0, ge=0, description="seconds a run waits for readers to close the database")
    timeout: float = Field(default=120.0, gt=0, description="seconds per HTTP request to a remote endpoint")
    # The embedded model streams its answers; a busy machine makes it slow, not stuck.
    stall_timeout: float = Field(default=120.0, gt=0, description="embedded model: seconds without "
                                 "progress (no new token, no prompt processed) before a request is given up")
    max_attempts: int = Field(default=5, ge=1, description="tries per request on transient errors")
    max_retry_seconds: float = Field(default=300.0, gt=0, description="total retry budget per request")
    max_reasks: int = Field(default=1, ge=0, description="re-asks after a validation failure")
    max_tokens: int = Field(default=1024, ge=16)
    names: Namer = Field(default="code", description="who names metrics: code (measured better than the "
                         "embedded model) or the model (each name checked against its own item)")
    model_labels: tuple[ModelLabel, ...] = Field(
        default=("category",),
        description="which labels the model chooses where code's words leave them open (JSON list, e.g. "
        '\'["category"]\'); code decides the others. The default asks only what measured better than code alone')
    temperature: float = 0.0
    # Embedded model.
    model_path: Path | None = Field(default=None, description="a GGUF to serve instead of the shipped one")
    cache_dir: Path = Field(
        default_factory=lambda: Path(
            os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
        )
        / "llm-extract",
    )
    # Our longest prompt is ~1,800 tokens; 4096 halves the KV cache and logits buffer of 8192.
    n_ctx: int = 4096
    n_threads: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1))
    server_start_timeout: float = 120.0
    local_server: Literal["auto", "llama-server", "llama-cpp-python"] = Field(
        default="auto", description="which runtime serves the embedded model: llama.cpp's own server when "
        "built (llm-extract build-server), else llama-cpp-python's")
    local_slots: int = Field(default=4, ge=1, le=16, description="requests llama-server decodes at once")

    @property
    def is_local(self) -> bool:
        return not self.base_url

    def resolved_concurrency(self) -> int:
        # A small local server decodes one request at a time; parallel requests only queue.
        if self.concurrency:
            return self.concurrency
        return 1 if self.is_local else 4

    def resolved_model(self) -> str:
        if self.model:
            return self.model
        return LOCAL_MODEL_NAME if self.is_local else "gpt-4o-mini"


def load_settings(**overrides: Any) -> Settings:
    """Build settings; overrides that are None are ignored so unset flags fall through."""
    given = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**given)  # pydantic-settings merges env, .env and these
