"""Hostile and broken inputs end in one line and exit 2, never a traceback,
a hang or unbounded memory."""

from __future__ import annotations

import io
import zipfile

import pytest

from coding import refi
from coding.cli import main
from coding.errors import CodingError

PROJECT = "<Project xmlns='urn:QDA-XML:project:1.0' name='x'/>"
NOISE = "".join(chr(97 + (i * i * 7919 + i // 3) % 26) for i in range(5000))


def _zip(path, members, method=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _corrupt(path):
    """A deflated member whose compressed bytes are garbage (CRC and stream broken)."""
    data = bytearray(path.read_bytes())
    start = data.find(b"sources/a.txt") + len(b"sources/a.txt") + 10
    for i in range(start, start + 20):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("make, message", [
    (lambda p: _corrupt(_zip(p, {"project.qde": PROJECT, "sources/a.txt": NOISE})), "corrupt"),
    (lambda p: _unknown_method(_zip(p, {"project.qde": PROJECT, "sources/a.txt": "abc"})), "unsupported compression"),
    (lambda p: _encrypted(_zip(p, {"project.qde": PROJECT, "sources/a.txt": "abc"})), "cannot be read"),
])
def test_broken_archive_members_are_one_line_errors(tmp_path, make, message):
    path = make(tmp_path / "p.qdpx")
    with zipfile.ZipFile(path) as zf, pytest.raises(CodingError, match=message) as err:
        refi.archive.read_member(zf, "sources/a.txt", path)
    assert "\n" not in str(err.value) and "p.qdpx" in str(err.value)


def _set_flag(path, member, *, method=None, flag=None):
    """Rewrite the compression method or the flag bits of ``member`` in both
    its local header and its central-directory entry."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        local = zf.getinfo(member).header_offset
    headers = [(local + 6, local + 8)]  # local header: flags, method
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        name_len = int.from_bytes(data[pos + 28:pos + 30], "little")
        if data[pos + 46:pos + 46 + name_len] == member.encode():
            headers.append((pos + 8, pos + 10))  # central entry: flags, method
        pos = data.find(b"PK\x01\x02", pos + 4)
    for flag_at, method_at in headers:
        if method is not None:
            data[method_at:method_at + 2] = method.to_bytes(2, "little")
        if flag is not None:
            data[flag_at:flag_at + 2] = flag.to_bytes(2, "little")
    path.write_bytes(bytes(data))
    return path


def _unknown_method(path):
    return _set_flag(path, "sources/a.txt", method=99)


def _encrypted(path):
    return _set_flag(path, "sources/a.txt", flag=0x1)


def test_members_over_the_bound_or_lying_about_their_size_are_refused(tmp_path, monkeypatch):
    path = _zip(tmp_path / "p.qdpx", {"project.qde": PROJECT, "sources/a.txt": "y" * 10_000})
    monkeypatch.setattr(refi.archive, "MAX_MEMBER_BYTES", 1000)
    with zipfile.ZipFile(path) as zf:
        with pytest.raises(CodingError, match="is 10000 bytes \\(limit 1000\\)"):
            refi.archive.read_member(zf, "sources/a.txt", path)
        zf.getinfo("sources/a.txt").file_size = 10  # what a lying header says
        with pytest.raises(CodingError, match="corrupt"):
            refi.archive.read_member(zf, "sources/a.txt", path)


def test_deeply_nested_codes_are_refused(tmp_path, capsys):
    deep = "".join(f"<Code guid='{i:08d}-0000-0000-0000-000000000000' name='c{i}' isCodable='true'>"
                   for i in range(5000)) + "</Code>" * 5000
    qdc = tmp_path / "deep.qdc"
    qdc.write_text(f"<CodeBook xmlns='urn:QDA-XML:codebook:1.0'><Codes>{deep}</Codes></CodeBook>",
                   encoding="utf-8")
    assert main(["import", str(qdc), "--out", str(tmp_path / "cb.yaml")]) == 2
    err = capsys.readouterr().err
    assert "nested deeper than" in err and err.count("\n") == 1
    assert not (tmp_path / "cb.yaml").exists()


def test_a_docx_bomb_is_refused_before_it_is_inflated(tmp_path):
    import tracemalloc

    from coding.readers import MAX_DOCX_XML_BYTES, read_docx

    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", b"<w:document>" + b" " * (MAX_DOCX_XML_BYTES + 1) + b"</w:document>")
    assert bomb.stat().st_size < 1_000_000
    tracemalloc.start()
    with pytest.raises(CodingError, match="expands to .* bytes"):
        read_docx(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 * 2**20


def test_a_damaged_pdf_gives_no_stray_lines_on_stderr(tmp_path):
    import subprocess
    import sys

    from test_readers import write_pdf

    pdf = write_pdf(tmp_path / "r.pdf", [["A paragraph about gas and trade."]])
    data = pdf.read_bytes()
    at = data.rfind(b"startxref")
    pdf.write_bytes(data[:at] + b"startxref\n999999\n%%EOF\n")  # a wrong xref offset pypdf repairs
    code = ("import sys; from coding.readers import read_pdf; "
            f"print(read_pdf({str(pdf)!r}).strip())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and "gas and trade" in out.stdout
    assert out.stderr == ""
