"""Old Word (.doc) and WPS (.wps) files, through LibreOffice: converted to .docx in a private
temporary folder with a private LibreOffice profile (so a LibreOffice the user has open is not
disturbed), then read as any .docx, numbering included. Without `soffice` on PATH these files get
one line saying how to install it; nothing else is affected.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from llm_extract.errors import InputError
from llm_extract.ingest.formats import Converted
from llm_extract.ingest.formats import docx as docx_format
from llm_extract.ingest.formats.docx import CFB_MAGIC, ENCRYPTED_STREAM

TIMEOUT = 180  # seconds; a report converts in a few
INSTALL_HINT = ("needs LibreOffice to convert: install it (Debian/Ubuntu: `apt-get install libreoffice-writer-nogui`; "
                "macOS: `brew install --cask libreoffice`) so that `soffice` is on PATH, or save the file as .docx")


def find_soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@lru_cache(maxsize=4)
def soffice_version(soffice: str) -> str:
    try:
        out = subprocess.run([soffice, "--headless", "--version"], capture_output=True, text=True, timeout=60, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return "LibreOffice ?"
    words = out.split()
    return " ".join(words[:2]) if words else "LibreOffice ?"


def expected_converter(data: bytes) -> str | None:
    if data.startswith(b"PK"):
        return docx_format.converter_name()
    soffice = find_soffice()
    return f"{soffice_version(soffice)} -> {docx_format.converter_name()}" if soffice else None


def convert(data: bytes, source_format: str) -> Converted:
    if data.startswith(CFB_MAGIC) and ENCRYPTED_STREAM in data:
        raise InputError("password-protected Office file; save it again without a password")
    if data.startswith(b"PK"):  # a .docx saved under an old name: read it as what it is
        converted = docx_format.convert(data, source_format)
        return converted
    soffice = find_soffice()
    if soffice is None:
        raise InputError(f".{source_format} {INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="llm-extract-soffice-") as tmp:
        folder = Path(tmp)
        source = folder / f"report.{source_format}"
        source.write_bytes(data)
        profile = (folder / "profile").as_uri()
        command = [soffice, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--convert-to", "docx",
                   "--outdir", str(folder / "out"), str(source)]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT,
                                    env=os.environ | {"HOME": tmp}, stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired as exc:
            raise InputError(f"LibreOffice did not convert it within {TIMEOUT} s") from exc
        except OSError as exc:
            raise InputError(f"could not start LibreOffice ({exc.strerror or exc})") from exc
        target = folder / "out" / "report.docx"
        if not target.exists():
            said = " ".join((result.stderr or result.stdout).split())[:160]
            raise InputError(f"LibreOffice could not convert it (corrupt or not a Word/WPS file){': ' + said if said else ''}")
        converted = docx_format.convert(target.read_bytes(), source_format)
    return Converted(text=converted.text, source_format=source_format,
                     converter=f"{soffice_version(soffice)} -> {converted.converter}", generated=converted.generated)
