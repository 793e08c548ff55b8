"""llama.cpp's own server (`llama-server`, MIT), built once from source for the embedded model.

Why: on a CPU, decoding is bound by reading the weights, so several sequences decoded together
cost little more than one. llama-server decodes its parallel slots in one batch (continuous
batching) and keeps each slot's prompt prefix cached; llama-cpp-python's server answers one
request at a time. No registry ships a llama-server binary, but the llama-cpp-python source
package on PyPI carries the llama.cpp sources it was cut from (`vendor/llama.cpp`): we download
that package (the same version as the installed runtime), build only the `llama-server` target,
statically linked, and keep the binary in the cache folder. Without it the embedded model falls
back to llama-cpp-python's server, slower but the same answers' shape.

This is the one compile of llama.cpp in the set-up: the `local` extra installs no runtime that
compiles it (llama-cpp-python, the fallback runtime, is the separate `local-python` extra), and
the first `run` with the embedded model builds this server when it is missing, with a progress
bar; `llm-extract build-server` does the same ahead of time. About 8-10 minutes on 2 cores;
needs a C++ compiler, and CMake, which the `local` extra installs from PyPI.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import IO

from llm_extract.errors import LocalModelError

# The llama-cpp-python release whose vendored llama.cpp we build when the runtime is not installed.
DEFAULT_SOURCE_VERSION = "0.3.36"
VENDOR = "vendor/llama.cpp"
# Only the server: no tests, examples, web UI (it would be fetched from the network) or TLS.
CMAKE_OPTIONS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_OPENSSL=OFF",
)
ENV_BINARY = "LLM_EXTRACT_LLAMA_SERVER"
# CMake's Makefile generator prefixes each step with the build's percentage ("[ 42%] Building"),
# Ninja with steps done of all ("[84/200] Building").
PERCENT = re.compile(r"^\[\s*(\d{1,3})%\]")
STEPS = re.compile(r"^\[(\d+)/(\d+)\]")
OnProgress = Callable[[int], None]


def source_version() -> str:
    try:
        return metadata.version("llama-cpp-python")
    except metadata.PackageNotFoundError:
        return DEFAULT_SOURCE_VERSION


def binary_path(cache_dir: Path) -> Path:
    """Where the built server lives; named by the source version, so an upgrade builds anew."""
    return cache_dir / "bin" / f"llama-server-{source_version()}"


def find_binary(cache_dir: Path) -> Path | None:
    """LLM_EXTRACT_LLAMA_SERVER if set (it must exist), else the built one, else None."""
    given = os.environ.get(ENV_BINARY)
    if given:
        path = Path(given)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise LocalModelError(f"{ENV_BINARY}={given} is not an executable file")
        return path
    built = binary_path(cache_dir)
    return built if built.is_file() and os.access(built, os.X_OK) else None


def works(binary: Path) -> bool:
    """A built server that starts on this machine (prints its version)."""
    try:
        return subprocess.run([str(binary), "--version"], capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def build(cache_dir: Path, jobs: int = 0, say: Callable[[str], None] = print, force: bool = False,
          on_progress: OnProgress | None = None) -> Path:
    """Download the llama.cpp sources from PyPI, build llama-server, install it atomically.
    A server already built from the same sources that runs here is kept unless `force`.
    `on_progress` hears the build's percentage as it goes."""
    existing = binary_path(cache_dir)
    if not force and existing.is_file() and works(existing):
        say(f"llama-server is already built: {existing} (--force rebuilds it)")
        return existing
    cmake = shutil.which("cmake") or _venv_tool("cmake")
    if cmake is None:
        raise LocalModelError("CMake is needed to build llama-server: pip install cmake")
    target = binary_path(cache_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    jobs = jobs or max(1, os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="llm-extract-build-") as tmp:
        work = Path(tmp)
        log = cache_dir / "build-server.log"
        say(f"downloading the llama.cpp sources (llama-cpp-python {source_version()} from PyPI)")
        source = _download_sources(work)
        say(f"building llama-server with {jobs} jobs (several minutes; log: {log})")
        with log.open("w") as out:
            _run([cmake, "-S", str(source), "-B", str(work / "build"), *CMAKE_OPTIONS], out, log)
            _run([cmake, "--build", str(work / "build"), "--target", "llama-server", "-j", str(jobs)], out, log,
                 on_progress)
        built = work / "build" / "bin" / "llama-server"
        if not built.is_file():
            raise LocalModelError(f"the build finished without {built.name}; see {log}")
        partial = target.with_suffix(f".partial.{os.getpid()}")
        shutil.copy2(built, partial)
        partial.chmod(0o755)
        os.replace(partial, target)  # atomic: a run never starts a half-copied binary
    return target


def _venv_tool(name: str) -> str | None:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.is_file() else None


def _download_sources(work: Path) -> Path:
    spec = f"llama-cpp-python=={source_version()}"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", spec, "--no-binary", ":all:", "--no-deps", "--quiet",
         "-d", str(work)], check=False, capture_output=True, text=True)
    archives = sorted(work.glob("llama_cpp_python-*.tar.gz"))
    if done.returncode != 0 or not archives:
        tail = " ".join((done.stderr or "").split())[-300:]
        raise LocalModelError(f"could not download {spec} sources from PyPI: {tail}")
    root = work / "src"
    with tarfile.open(archives[0]) as archive:
        members = [m for m in archive.getmembers() if f"/{VENDOR}/" in m.name]
        archive.extractall(root, members=members, filter="data")  # no paths outside root, no devices
    found = sorted(root.glob(f"*/{VENDOR}"))
    if not found:
        raise LocalModelError(f"{archives[0].name} holds no {VENDOR} sources")
    return found[0]


def _run(command: list[str], out: IO[str], log: Path, on_progress: OnProgress | None = None) -> None:
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace") as process:
        for line in process.stdout or ():
            out.write(line)
            percent = _percent(line)
            if percent is not None and on_progress is not None:
                on_progress(percent)
    if process.returncode != 0:
        raise LocalModelError(f"building llama-server failed ({Path(command[0]).name} exit {process.returncode}); see {log}")


def _percent(line: str) -> int | None:
    if match := PERCENT.match(line):
        return min(100, int(match.group(1)))
    if (match := STEPS.match(line)) and int(match.group(2)) > 0:
        return min(100, 100 * int(match.group(1)) // int(match.group(2)))
    return None


def needs_build(cache_dir: Path, local_server: str) -> bool:
    """Whether the embedded model lacks llama.cpp's server and should build it before serving:
    not when another runtime was asked for, or one is set by LLM_EXTRACT_LLAMA_SERVER."""
    return local_server != "llama-cpp-python" and find_binary(cache_dir) is None
