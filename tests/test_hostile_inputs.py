"""Hostile and broken inputs end in one line and exit 2, never a traceback,
a hang or unbounded memory."""

from __future__ import annotations

import io
import zipfile

import pytest

from coding import exchange as refi
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


# ---------------------------------------------------------------- sizes checked before inflating

W_NS = "xmlns:w='http://schemas.openxmlformats.org/wordprocessingml/2006/main'"


def hostile_docx(path, part_bytes: int, filler: bytes):
    """A .docx whose document, styles, numbering and header parts are each
    ``part_bytes`` of ``filler`` elements (small on disk: they deflate well)."""
    body = filler * (part_bytes // len(filler))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        for part, tag in (("document", "document"), ("styles", "styles"), ("numbering", "numbering"),
                          ("header1", "hdr")):
            zf.writestr(f"word/{part}.xml", f"<w:{tag} {W_NS}>".encode() + body + f"</w:{tag}>".encode())
    return path


def test_a_docx_of_four_large_xml_parts_is_refused_before_it_is_inflated(tmp_path):
    """Four XML parts each under the per-part bound (the file is 0.3 MB):
    together they once took 1.9 GB; now the sum is refused from the sizes."""
    from coding.readers import MAX_DOCX_XML_BYTES, MAX_DOCX_XML_TOTAL, read_docx

    docx = hostile_docx(tmp_path / "big.docx", 39_000_000, b"<w:p><w:r><w:t>" + b"x" * 2000 + b"</w:t></w:r></w:p>")
    assert docx.stat().st_size < 1_000_000 and 39_000_000 < MAX_DOCX_XML_BYTES
    with pytest.raises(CodingError, match=f"XML parts expand to .* bytes \\(limit {MAX_DOCX_XML_TOTAL}\\)") as err:
        read_docx(docx)
    assert "\n" not in str(err.value) and "big.docx" in str(err.value)


def test_a_docx_of_millions_of_small_elements_is_refused_before_it_is_parsed(tmp_path):
    """Small parts of tiny elements: the bytes are within bounds, the
    elements (hundreds of bytes each in a tree) are counted first."""
    from coding.readers import MAX_DOCX_ELEMENTS, read_docx

    docx = hostile_docx(tmp_path / "many.docx", 2_400_000, b"<w:p/>")
    with pytest.raises(CodingError, match=f"more than {MAX_DOCX_ELEMENTS} XML elements"):
        read_docx(docx)


def test_elements_cut_between_two_chunks_are_counted_once(tmp_path, monkeypatch):
    from coding import readers

    docx = hostile_docx(tmp_path / "cut.docx", 3 * 2**20, b"<w:p>a</w:p>")  # chunks of 1 MiB cut tags
    per_part = (3 * 2**20) // len(b"<w:p>a</w:p>") + 1
    total = 1 + 4 * per_part  # and <Types/>
    monkeypatch.setattr(readers, "MAX_DOCX_ELEMENTS", total - 1)
    with pytest.raises(CodingError, match=f"\\({total} up to word/header1.xml\\)"):
        readers.read_docx(docx)


def _qdpx(path, members: int, size: int, filler: bytes = b"word "):
    sources = "".join(f"<TextSource guid='0000000{i}-0000-0000-0000-000000000000' name='s{i}' "
                      f"plainTextPath='internal://s{i}.txt'/>" for i in range(members))
    body = filler * (size // len(filler))
    return _zip(path, {"project.qde": f"<Project xmlns='urn:QDA-XML:project:1.0' name='x'><Sources>{sources}"
                                      "</Sources></Project>",
                       **{f"sources/s{i}.txt": body for i in range(members)}})


def test_a_qdpx_of_large_sources_is_refused_before_they_add_up(tmp_path, capsys):
    """Each source under the per-member bound, together past what is read
    from one archive (four 99 MB members once took 2 GB, CRLFs 8 GB)."""
    from conftest import coded_tiny

    store = coded_tiny(tmp_path)
    qdpx = _qdpx(tmp_path / "big.qdpx", 4, 20_000_000, b"\r\n")
    assert main(["import", str(qdpx), "--coder", "q", "--store", str(store),
                 "--codebook", str(tmp_path / "codebook.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "big.qdpx: the project's XML and source texts expand to more than" in err


def test_project_xml_of_too_many_elements_is_refused_before_it_is_parsed(tmp_path):
    from coding.exchange.xml import MAX_ELEMENTS, parse_xml

    with pytest.raises(CodingError, match=f"XML with {MAX_ELEMENTS + 1} elements \\(limit {MAX_ELEMENTS}\\)"):
        parse_xml(b"<Project>" + b"<a/>" * MAX_ELEMENTS + b"</Project>", "p.qdpx!project.qde")


def test_line_ends_of_a_source_are_kept_compactly():
    from coding.exchange.archive import decode_source, raw_to_norm

    text, removed = decode_source(b"a\r\nb\r\nc\rd")
    assert text == "a\nb\nc\nd" and list(removed) == [1, 4] and removed.itemsize == 8
    assert [raw_to_norm(p, removed) for p in (0, 3, 6)] == [0, 2, 4]


def test_the_element_bound_is_for_untrusted_projects_not_for_checking_an_export(tmp_path, monkeypatch):
    from conftest import coded_tiny

    from coding.exchange import xml as refi_xml
    from coding.store import Store

    store = coded_tiny(tmp_path)
    with Store(store) as s:
        path = refi.export_project(s, tmp_path / "p.qdpx")
    monkeypatch.setattr(refi_xml, "MAX_ELEMENTS", 10)
    refi.validate_schema(path, own=True)  # what 'coding export project' checks after writing
    with pytest.raises(CodingError, match="elements \\(limit 10\\)"):
        refi.validate_schema(path)
