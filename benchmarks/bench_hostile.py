"""Peak memory of reading hostile .docx, .pdf and .qdpx files.

Each file is small on disk and inflates far: XML parts of long text or of
millions of tiny elements, sources of words or of bare line ends, PDF page
streams of blanks. Each case is read in a fresh child process (the reader
the pipeline uses: ``read_docx``, ``read_pdf``, ``coding import``), so the
peak resident memory printed is that case's own. Every case, accepted or
refused, should stay under 500 MB.

    python benchmarks/bench_hostile.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
import zlib
from pathlib import Path

W_NS = "xmlns:w='http://schemas.openxmlformats.org/wordprocessingml/2006/main'"
LONG = b"<w:p><w:r><w:t>" + b"x" * 2000 + b"</w:t></w:r></w:p>"


OOXML = "http://schemas.openxmlformats.org"
MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml"
PARTS = (("document", "document", "officeDocument"), ("styles", "styles", "styles"),
         ("numbering", "numbering", "numbering"), ("header1", "hdr", "header"))


def docx(path: Path, part_bytes: int, filler: bytes) -> Path:
    """A package python-docx opens: the document relates to styles, numbering and a header."""
    body = filler * (part_bytes // len(filler))
    types = "".join(f"<Override PartName='/word/{part}.xml' ContentType='{MAIN}.{kind}+xml'/>" for part, kind in
                    (("document", "document.main"), ("styles", "styles"), ("numbering", "numbering"),
                     ("header1", "header")))
    rels = "".join(f"<Relationship Id='rId{i}' Type='{OOXML}/officeDocument/2006/relationships/{rel}' "
                   f"Target='{part}.xml'/>" for i, (part, _tag, rel) in enumerate(PARTS[1:], start=1))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", f"<Types xmlns='{OOXML}/package/2006/content-types'>"
                    "<Default Extension='rels' ContentType='application/vnd.openxmlformats-package.relationships"
                    "+xml'/><Default Extension='xml' ContentType='application/xml'/>" + types + "</Types>")
        zf.writestr("_rels/.rels", f"<Relationships xmlns='{OOXML}/package/2006/relationships'><Relationship "
                    f"Id='rId1' Type='{OOXML}/officeDocument/2006/relationships/officeDocument' "
                    "Target='word/document.xml'/></Relationships>")
        zf.writestr("word/_rels/document.xml.rels",
                    f"<Relationships xmlns='{OOXML}/package/2006/relationships'>{rels}</Relationships>")
        for part, tag, _rel in PARTS:
            inner = b"<w:body><w:p><w:r><w:t>Gas trade grew.</w:t></w:r></w:p>" if tag == "document" else b""
            outer = b"</w:body>" if tag == "document" else b""
            zf.writestr(f"word/{part}.xml", f"<w:{tag} {W_NS}>".encode() + inner + body + outer
                        + f"</w:{tag}>".encode())
    return path


def qdpx(path: Path, members: int, size: int, filler: bytes) -> Path:
    sources = "".join(f"<TextSource guid='0000000{i}-0000-0000-0000-000000000000' name='s{i}' "
                      f"plainTextPath='internal://s{i}.txt'/>" for i in range(members))
    body = filler * (size // len(filler))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", f"<Project xmlns='urn:QDA-XML:project:1.0' name='x'><Sources>{sources}"
                                   "</Sources></Project>")
        for i in range(members):
            zf.writestr(f"sources/s{i}.txt", body)
    return path


def pdf(path: Path, streams: list[bytes]) -> Path:
    n = len(streams)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode()]
    for i, raw in enumerate(streams):
        data = zlib.compress(raw, 1)
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
                       f"/Resources << /Font << /F1 {3 + 2 * n} 0 R >> >> >>".encode())
        objects.append(f"<< /Length {len(data)} /Filter /FlateDecode >>\nstream\n".encode() + data + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{off:010d} 00000 n \n".encode() for off in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    return path


TEXT = b"BT /F1 12 Tf 72 700 Td (Gas pipelines and trade grew.) Tj ET\n"

CHILD = textwrap.dedent("""
    import resource, sys
    from coding.errors import CodingError
    kind, path = sys.argv[1], sys.argv[2]
    try:
        if kind == "docx":
            from coding.readers import read_docx
            read_docx(path); outcome = "read"
        elif kind == "pdf":
            from coding.readers import read_pdf
            read_pdf(path); outcome = "read"
        else:
            import contextlib, io
            from coding.cli import main
            with contextlib.redirect_stdout(io.StringIO()):  # the import's report: only the outcome is printed
                code = main(["import", path, "--coder", "q", "--store", sys.argv[3], "--codebook", sys.argv[4]])
            outcome = {0: "read", 1: "read (nothing matched)", 2: "refused"}[code]
    except CodingError as exc:
        outcome = "refused: " + str(exc).split(": ", 1)[1][:70]
    try:  # the high-water mark of this program (ru_maxrss would count the parent's size at fork)
        with open("/proc/self/status") as fh:
            peak = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) // 1024
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(outcome, peak, sep="\\t")
""")


def _project(root: Path) -> tuple[Path, Path]:
    """A one-document store and its codebook, for the .qdpx imports."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from conftest import TINY_CODEBOOK, write_corpus

    from coding.jobs import pipeline

    corpus = write_corpus(root)
    (root / "codebook.yaml").write_text(TINY_CODEBOOK, encoding="utf-8")
    pipeline.run(corpus, root / "codebook.yaml", root / "out", progress=False, report=False)
    return root / "out" / "project.sqlite", root / "codebook.yaml"


def cases(d: Path):
    yield "docx: 4 XML parts of 39 MB of text", "docx", lambda: docx(d / "a.docx", 39_000_000, LONG)
    yield "docx: 4 XML parts of 25 MB of text", "docx", lambda: docx(d / "b.docx", 25_000_000, LONG)
    yield "docx: 1.47 M tiny elements", "docx", lambda: docx(d / "c.docx", 2_200_000, b"<w:p/>")
    yield "docx: 1.6 M tiny elements", "docx", lambda: docx(d / "d.docx", 2_400_000, b"<w:p/>")
    yield "qdpx: 4 sources of 99 MB of words", "qdpx", lambda: qdpx(d / "a.qdpx", 4, 99_000_000, b"word ")
    yield "qdpx: 4 sources of 99 MB of CRLF", "qdpx", lambda: qdpx(d / "b.qdpx", 4, 99_000_000, b"\r\n")
    yield "qdpx: 4 sources of 15 MB of words", "qdpx", lambda: qdpx(d / "c.qdpx", 4, 15_000_000, b"word ")
    yield "qdpx: 4 sources of 15 MB of CRLF", "qdpx", lambda: qdpx(d / "d.qdpx", 4, 15_000_000, b"\r\n")
    yield "pdf: a 76 MB page stream", "pdf", lambda: pdf(d / "a.pdf", [TEXT + b" " * 76_000_000])
    yield "pdf: 6 pages of 70 MB", "pdf", lambda: pdf(d / "b.pdf", [TEXT + b" " * 70_000_000] * 6)
    yield "pdf: 12 pages of 9 MB", "pdf", lambda: pdf(d / "c.pdf", [TEXT + b" " * 9_000_000] * 12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="folder to build the files in (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(args.keep or tmp)
        d.mkdir(parents=True, exist_ok=True)
        store, codebook = _project(d / "project")
        print(f"{'case':<38} {'on disk':>9} {'seconds':>8} {'peak MB':>8}  outcome")
        for name, kind, build in cases(d):
            path = build()
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", CHILD, kind, str(path), str(store), str(codebook)],
                                  capture_output=True, text=True)
            seconds = time.perf_counter() - start
            outcome, _, peak = done.stdout.strip().rpartition("\t")
            if done.returncode:
                outcome, peak = f"crashed: {done.stderr.strip().splitlines()[-1:]}", "?"
            print(f"{name:<38} {path.stat().st_size / 1e6:>7.2f}MB {seconds:>8.1f} {peak:>8}  {outcome}")
            path.unlink()


if __name__ == "__main__":
    main()
