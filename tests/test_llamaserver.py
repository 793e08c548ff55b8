"""The embedded model's runtime choice, offline: which server is started and how, how the client
tells llama.cpp's own server from other endpoints (real HTTP on 127.0.0.1), and a run that keeps
several documents in flight still stores them in input order."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from llm_extract.model import llamaserver
from llm_extract.config import Settings
from llm_extract.errors import LocalModelError
from llm_extract.model.client import endpoint_mode
from llm_extract.model.local import LocalServer
from llm_extract.run.pipeline import DocDone, DocStarted, run
from llm_extract.store.database import Store
from tests.support.paths import REPORTS
from tests.support.scripted import ScriptedBackend


def _fake_binary(folder: Path, version_exit: int = 0) -> Path:
    script = folder / "llama-server"
    script.write_text(f"#!/bin/sh\necho 'version: test'\nexit {version_exit}\n")
    script.chmod(0o755)
    return script


def _settings(tmp_path: Path, **values: object) -> Settings:
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    return Settings(_env_file=None, model_path=gguf, cache_dir=tmp_path / "cache", **values)  # type: ignore[call-arg]


def test_a_built_llama_server_is_started_with_parallel_slots_and_a_slot_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(llamaserver.ENV_BINARY, str(_fake_binary(tmp_path)))
    server = LocalServer(_settings(tmp_path, local_slots=3, n_ctx=2048))
    command = server.command()
    assert server.runtime == "llama-server" and server.slots == 3
    assert command[0] == os.environ[llamaserver.ENV_BINARY]
    assert command[command.index("--parallel") + 1] == "3"
    assert command[command.index("--ctx-size") + 1] == str(3 * 2048)  # each slot keeps n_ctx
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert Path(command[command.index("--slot-save-path") + 1]).is_dir()
    server.stop()
    assert not Path(command[command.index("--slot-save-path") + 1]).exists()


def test_without_a_built_server_the_python_runtime_serves_one_request_at_a_time(tmp_path, monkeypatch):
    pytest.importorskip("llama_cpp")
    monkeypatch.delenv(llamaserver.ENV_BINARY, raising=False)
    server = LocalServer(_settings(tmp_path))
    assert server.runtime == "llama-cpp-python" and server.slots == 1
    assert "llama_cpp.server" in server.command()


def test_asking_for_llama_server_when_it_is_not_built_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.delenv(llamaserver.ENV_BINARY, raising=False)
    with pytest.raises(LocalModelError, match="llm-extract build-server"):
        LocalServer(_settings(tmp_path, local_server="llama-server"))


def test_a_binary_setting_that_is_not_executable_is_one_clear_error(tmp_path, monkeypatch):
    plain = tmp_path / "llama-server"
    plain.write_text("not a program")
    monkeypatch.setenv(llamaserver.ENV_BINARY, str(plain))
    with pytest.raises(LocalModelError, match="not an executable file"):
        llamaserver.find_binary(tmp_path)


def test_build_keeps_a_working_server_and_is_named_by_the_source_version(tmp_path):
    target = llamaserver.binary_path(tmp_path)
    assert target.name == f"llama-server-{llamaserver.source_version()}"
    target.parent.mkdir(parents=True)
    target.write_bytes(_fake_binary(tmp_path).read_bytes())
    target.chmod(0o755)
    said: list[str] = []
    assert llamaserver.build(tmp_path, say=said.append) == target  # no download, no compile
    assert "already built" in said[0]


@contextlib.contextmanager
def _http(routes: dict[str, tuple[int, object]]) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            status, body = routes.get(self.path, (404, {"error": "not found"}))
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_llama_cpp_servers_are_asked_with_json_schema_and_others_with_tools():
    with _http({"/props": (200, {"default_generation_settings": {"n_ctx": 4096}, "total_slots": 4})}) as url:
        assert endpoint_mode(url) == "json_schema"
    with _http({}) as url:  # an OpenAI-style API: no /props
        assert endpoint_mode(url) == "tools"
    with _http({"/props": (200, ["something else"])}) as url:
        assert endpoint_mode(url) == "tools"
    assert endpoint_mode("http://127.0.0.1:9/v1") == "tools"  # unreachable: the request itself will say so


def test_documents_in_flight_together_are_stored_and_reported_in_input_order(tmp_path):
    files = sorted(REPORTS.glob("*.txt"))[:3]
    events: list[object] = []
    settings = Settings(_env_file=None, db=tmp_path / "o.duckdb", base_url="http://127.0.0.1:9/v1",  # type: ignore[call-arg]
                        concurrency=4)
    summary = run(files, settings, force=True, on_event=events.append, model_backend=ScriptedBackend())
    assert summary.exit_code == 0
    started = [Path(e.path).name for e in events if isinstance(e, DocStarted)]
    done = [Path(e.path).name for e in events if isinstance(e, DocDone)]
    assert started == done == [f.name for f in files]
    with Store(settings.db, read_only=True) as store:
        stored = store.query("SELECT path, (SELECT count(*) FROM metrics m WHERE m.doc_id = d.doc_id) AS n FROM documents d")
    assert sorted(Path(r["path"]).name for r in stored) == [f.name for f in files]
    assert all(r["n"] > 0 for r in stored if not r["path"].endswith("004_264309198007c7ae.txt"))


def test_the_build_reports_its_percentage_as_it_goes(tmp_path):
    from llm_extract.model import llamaserver

    seen: list[int] = []
    script = 'echo "-- Configuring"; echo "[  7%] Building C object a.o"; echo "[ 50%] Linking"; echo "[3/4] ninja step"'
    with (tmp_path / "build.log").open("w") as out:
        llamaserver._run(["sh", "-c", script], out, tmp_path / "build.log", seen.append)
    assert seen == [7, 50, 75] and "Configuring" in (tmp_path / "build.log").read_text()


def test_a_failed_build_step_is_one_line_naming_the_log(tmp_path):
    from llm_extract.model import llamaserver
    from llm_extract.errors import LocalModelError

    with (tmp_path / "build.log").open("w") as out, pytest.raises(LocalModelError, match="build.log"):
        llamaserver._run(["sh", "-c", "echo boom; exit 3"], out, tmp_path / "build.log")


def test_a_build_is_needed_only_without_a_server_and_unless_another_runtime_is_asked_for(tmp_path, monkeypatch):
    from llm_extract.model import llamaserver

    monkeypatch.delenv(llamaserver.ENV_BINARY, raising=False)
    assert llamaserver.needs_build(tmp_path, "auto") and llamaserver.needs_build(tmp_path, "llama-server")
    assert not llamaserver.needs_build(tmp_path, "llama-cpp-python")
    built = llamaserver.binary_path(tmp_path)
    built.parent.mkdir(parents=True)
    built.write_text("#!/bin/sh\n")
    built.chmod(0o755)
    assert not llamaserver.needs_build(tmp_path, "auto")
