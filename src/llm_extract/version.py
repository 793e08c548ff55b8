"""What decides an extraction, as one hash: the version stored with every document.

A stored document is redone when its version differs, and never otherwise, so the version must
change with every change that can change what is stored, and with nothing else. What decides:

- the record types (`schemas.py`);
- every module of the propose and label stages (what is found, named, categorised, accepted),
  and the data files beside them (the catalogue of areas and indicators);
- `run/extract.py`, which assembles a document and drops what cannot be grounded.

Python modules are hashed by their syntax tree without docstrings (comments are not in it), so
editing a comment or a docstring does not re-extract a corpus; data files by their bytes. Whole
folders are hashed, so a module added to a stage is covered without being listed. The prompt
templates (`prompts/`) and who names metrics are added by `extraction_version`.
Imports nothing of the package: any layer may ask for the version.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# Relative to the package: files, or folders hashed whole (their *.py and data files).
DECIDING = ("schemas.py", "propose", "label", "run/extract.py")
DATA_SUFFIXES = (".toml", ".json", ".txt")
# Libraries whose data decide as much as our code does (jieba's dictionary draws word boundaries).
DECIDING_LIBRARIES = ("jieba",)


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _fingerprint(path: Path) -> bytes:
    if path.suffix == ".py":
        tree = _without_docstrings(ast.parse(path.read_text(encoding="utf-8")))
        return ast.dump(tree, include_attributes=False).encode()
    return path.read_bytes()


def _deciding_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for rel in DECIDING:
        target = root / rel
        if target.is_dir():
            files += [p for p in target.rglob("*") if p.is_file()
                      and (p.suffix == ".py" or p.suffix in DATA_SUFFIXES)
                      and "__pycache__" not in p.parts]
        elif target.is_file():
            files.append(target)
    return sorted(files)


def code_version_of(root: Path) -> str:
    """The hash of the deciding code under a package folder `root`."""
    digest = hashlib.sha256()
    for path in _deciding_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(_fingerprint(path) + b"\0")
    return digest.hexdigest()[:16]


def _library_versions() -> str:
    from importlib import metadata

    found = []
    for name in DECIDING_LIBRARIES:
        try:
            found.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name}=absent")
    return ",".join(found)


@functools.cache
def code_version() -> str:
    """The deciding code of this installation and the versions of the libraries that decide with
    it (fixed for the life of a process)."""
    return hashlib.sha256(f"{code_version_of(PACKAGE)}:{_library_versions()}".encode()).hexdigest()[:16]


def extraction_version(prompts_version: str, schema_version: str, names: str) -> str:
    """A model extraction's version: prompt templates, answer schemas, deciding code, namer."""
    key = f"{prompts_version}:{schema_version}:{code_version()}:names={names}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]
