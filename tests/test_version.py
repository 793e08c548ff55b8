"""The stored version changes with every change to deciding code, and not with a comment."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from llm_extract import version


@pytest.fixture()
def package(tmp_path: Path) -> Path:
    copy = tmp_path / "llm_extract"
    shutil.copytree(version.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_same_code_gives_the_same_version(package: Path) -> None:
    assert version.code_version_of(package) == version.code_version_of(version.PACKAGE)
    assert version.code_version() == version.code_version()  # and fixed for the process


def test_comments_and_docstrings_do_not_change_it(package: Path) -> None:
    before = version.code_version_of(package)
    lexicon = package / "propose" / "lexicon.py"
    lexicon.write_text("# a new comment at the top\n" + lexicon.read_text(encoding="utf-8"), encoding="utf-8")
    edit(package / "label" / "labellers.py", '"""Who labels what', '"""Reworded: who labels what')
    assert version.code_version_of(package) == before


@pytest.mark.parametrize(("rel", "old", "new"), [
    ("propose/numbers.py", "def ", "def _added_helper():\n    return 1\n\n\ndef "),
    ("label/labellers.py", "SUMMARY_CHARS = 25", "SUMMARY_CHARS = 26"),  # summary length decides
    ("run/extract.py", "def ", "X = 1\n\n\ndef "),  # the drop rule lives here
    ("schemas.py", '"other",', '"other", "another",'),
])
def test_every_deciding_change_changes_it(package: Path, rel: str, old: str, new: str) -> None:
    before = version.code_version_of(package)
    edit(package / rel, old, new)
    assert version.code_version_of(package) != before


def test_a_new_module_or_data_file_in_a_stage_changes_it(package: Path) -> None:
    before = version.code_version_of(package)
    (package / "label" / "extra.py").write_text("RULE = 1\n", encoding="utf-8")
    after_module = version.code_version_of(package)
    (package / "label" / "extra.toml").write_text("x = 1\n", encoding="utf-8")
    assert len({before, after_module, version.code_version_of(package)}) == 3


def test_code_outside_the_deciding_stages_does_not_change_it(package: Path) -> None:
    before = version.code_version_of(package)
    edit(package / "cli" / "app.py", "def ", "Y = 2\n\n\ndef ")
    assert version.code_version_of(package) == before
