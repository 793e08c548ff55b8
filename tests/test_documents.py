import os
from pathlib import Path

import pytest

from llm_extract.ingest.documents import decode, find_reports, load
from llm_extract.errors import InputError

SAMPLE = "过马营镇 2024 年度法治政府建设工作报告\n一、工作总结\n开展安全知识宣传 60 余次。\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_decodes_common_encodings(tmp_path, encoding):
    path = tmp_path / "r.txt"
    path.write_bytes(SAMPLE.encode(encoding))
    assert load(path).text == SAMPLE


def test_normalises_line_endings_and_hashes_bytes(tmp_path):
    path = tmp_path / "r.txt"
    data = SAMPLE.replace("\n", "\r\n").encode()
    path.write_bytes(data)
    doc = load(path)
    assert doc.text == SAMPLE
    assert len(doc.doc_id) == 64


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"", "empty"), (b"  \n\n ", "empty"), (b"\x00\x01\x02binary" * 10, "binary"),
     (bytes(range(0x80, 0x100)) * 4, "decode")],
)
def test_bad_files_get_a_reason(data, reason):
    with pytest.raises(InputError, match=reason):
        decode(data)


def test_oversized_file_is_refused(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_bytes(b"a" * (6 * 1024 * 1024))
    with pytest.raises(InputError, match="MiB"):
        load(path)


def test_discover_walks_folders_skips_other_suffixes_and_survives_symlink_loops(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "b.md").write_text("x")
    (tmp_path / "c.xlsx").write_text("x")  # not a report format (.pdf is one since issue 12)
    (tmp_path / "~$e.docx").write_text("x")  # Word's lock file beside an open document
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "d.txt").write_text("x")
    os.symlink(tmp_path, sub / "loop")
    found = find_reports([tmp_path, tmp_path / "missing.txt"])
    files, bad = found.files, found.bad
    assert sorted(p.name for p in files) == ["a.txt", "b.md", "d.txt"]
    assert [(p.name, reason) for p, reason in bad] == [("missing.txt", "no such file or folder")]


def test_the_five_reports_load(reports_dir: Path):
    docs = [load(p) for p in sorted(reports_dir.glob("*.txt"))]
    assert len(docs) == 5
    assert len({d.doc_id for d in docs}) == 5
