"""The .docx and .pdf readers, on files the tests write themselves."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

matplotlib.use("pdf")

from conftest import TINY_CODEBOOK

from coding.codebook import parse_codebook
from coding.coders.dictionary import DictionaryCoder
from coding.corpus import Document, content_hash, read_file
from coding.errors import CodingError
from coding.segment import segment

PARAS = [
    "Gas pipelines and trade grew between the two countries.",
    "Militants crossed the Pak Afghan border and joint exercises followed.",
    "The minister said exports rose by ten percent.",
]


def write_docx(path: Path, paragraphs=PARAS, table=None, header=None) -> Path:
    import docx

    d = docx.Document()
    if header:
        d.sections[0].header.paragraphs[0].text = header
        d.sections[0].footer.paragraphs[0].text = header + " footer"
    d.add_paragraph(paragraphs[0])
    d.add_paragraph("")  # empty paragraphs are dropped
    if table:
        t = d.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                t.cell(r, c).text = value
    for p in paragraphs[1:]:
        d.add_paragraph(p)
    d.save(str(path))
    return path


def write_pdf(path: Path, pages: list[list[str]], header: str | None = "Annual Report 2023",
              numbers: bool = True) -> Path:
    """A PDF with one figure per page; '' in a page's lines leaves a blank line (paragraph gap)."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    with PdfPages(str(path)) as pdf:
        for number, lines in enumerate(pages, start=1):
            fig = plt.figure(figsize=(8.5, 11))
            if header:
                fig.text(0.1, 0.95, header)
            y = 0.85
            for line in lines:
                if line:
                    fig.text(0.1, y, line)
                y -= 0.025
            if numbers:
                fig.text(0.5, 0.03, str(number))
            pdf.savefig(fig)
            plt.close(fig)
    return path


def test_declared_encoding_drops_a_byte_order_mark(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffTrade grew.\r\n".encode("utf-8"))
    assert read_file(path) == read_file(path, "utf-8") == "Trade grew.\n"
    path.write_bytes("\ufeffCaf\u00e9.".encode("utf-16-le"))
    assert read_file(path, "utf-16-le") == "Caf\u00e9."


def test_docx_paragraphs_and_tables_in_order_headers_left_out(tmp_path):
    path = write_docx(tmp_path / "a.docx", table=[["Year", "Trade"], ["2019", "rose"]], header="RUNNING HEAD")
    text = read_file(path)
    assert text.split("\n\n") == [PARAS[0], "Year | Trade", "2019 | rose", PARAS[1], PARAS[2] + "\n"]
    assert "RUNNING HEAD" not in text


def test_pdf_drops_headers_page_numbers_and_rejoins_broken_paragraph(tmp_path):
    pages = [
        ["First paragraph about trade", "and it continues here.", "",
         "Second paragraph about energy and the", "pipeline which is broken"],
        ["across the page break and ends.", "", "Third paragraph here."],
    ]
    text = read_file(write_pdf(tmp_path / "r.pdf", pages))
    assert text == (
        "First paragraph about trade and it continues here.\n\n"
        "Second paragraph about energy and the pipeline which is broken across the page break and ends.\n\n"
        "Third paragraph here.\n"
    )


def test_pdf_keeps_paragraph_ending_at_page_break(tmp_path):
    pages = [["One ends", "here.", "", "Two also", "ends."], ["three starts lower case", "but is new.", "", "Four."]]
    paras = read_file(write_pdf(tmp_path / "r.pdf", pages, header="Report page 1")).strip().split("\n\n")
    assert paras == ["One ends here.", "Two also ends.", "three starts lower case but is new.", "Four."]


def _coded(text: str, doc_id: str):
    cb = parse_codebook(TINY_CODEBOOK)
    doc = Document(doc_id, doc_id, "thesis_chapter", "", "", doc_id, text=text, content_hash=content_hash(text))
    units = segment(doc)
    codings = DictionaryCoder(cb).code(units)
    return len(units), sorted((c.unit_id.split(":")[1], c.code) for c in codings)


def test_docx_and_pdf_code_like_their_txt_twin(tmp_path):
    txt = tmp_path / "t.txt"
    txt.write_text("\n\n".join(PARAS) + "\n", encoding="utf-8")
    twin = _coded(read_file(txt), "d")
    assert twin[0] == 3 and len(twin[1]) >= 4
    assert _coded(read_file(write_docx(tmp_path / "t.docx")), "d") == twin
    pdf_lines = []
    for p in PARAS:  # each paragraph on two lines, a blank line between paragraphs
        words = p.split()
        pdf_lines += [" ".join(words[:4]), " ".join(words[4:]), ""]
    pdf = write_pdf(tmp_path / "t.pdf", [pdf_lines[:6], pdf_lines[6:]])
    assert read_file(pdf) == "\n\n".join(PARAS) + "\n"
    assert _coded(read_file(pdf), "d") == twin


def test_encrypted_pdf_is_a_clear_error(tmp_path):
    from pypdf import PdfReader, PdfWriter

    plain = write_pdf(tmp_path / "p.pdf", [["Some text here."]])
    writer = PdfWriter()
    for page in PdfReader(str(plain)).pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    enc = tmp_path / "enc.pdf"
    with open(enc, "wb") as fh:
        writer.write(fh)
    with pytest.raises(CodingError) as err:
        read_file(enc)
    assert "enc.pdf" in str(err.value) and "encrypted" in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("name,content,words", [
    ("bad.pdf", b"%PDF-1.4\n this is not really a pdf \x00\x01", "PDF"),
    ("bad.docx", b"PK\x03\x04 broken zip", "docx"),
    ("plain.docx", b"just some text, not a package", "not a .docx"),
    ("old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "password-protected"),
])
def test_corrupt_files_are_clear_errors(tmp_path, name, content, words):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CodingError) as err:
        read_file(path)
    msg = str(err.value)
    assert name in msg and words in msg and "\n" not in msg


def test_image_only_and_empty_files(tmp_path):
    import matplotlib.pyplot as plt
    import numpy as np

    fig = plt.figure()
    fig.figimage(np.zeros((20, 20)))
    fig.savefig(tmp_path / "scan.pdf")
    plt.close(fig)
    with pytest.raises(CodingError, match="no extractable text"):
        read_file(tmp_path / "scan.pdf")
    with pytest.raises(CodingError, match="no text"):
        read_file(write_docx(tmp_path / "empty.docx", paragraphs=[""]))


def test_run_reports_unreadable_documents_and_codes_the_rest(tiny, tmp_path):
    from coding.cli import main
    from coding.jobs.pipeline import run

    corpus, codebook, out = tiny
    write_docx(corpus / "docs" / "c.docx")
    (corpus / "docs" / "d.pdf").write_bytes(b"%PDF-1.4 garbage")
    with open(corpus / "manifest.csv", "a", encoding="utf-8") as fh:
        fh.write("c,Doc C,interview,2022,src c,docs/c.docx\n")
        fh.write("d,Doc D,interview,2022,src d,docs/d.pdf\n")
    summary = run(corpus, codebook, out, progress=False)
    assert summary.documents == 3
    assert len(summary.errors) == 1 and "d.pdf" in str(summary.errors[0])
    assert main(["run", "--corpus", str(corpus), "--codebook", str(codebook), "--out", str(out)]) == 1


def test_pdf_full_width_last_line_continues_on_next_page_and_hyphens_are_rejoined(tmp_path):
    # One paragraph of full-width lines: page 1 ends on a full line after a full stop and
    # page 2 goes on with a capital; a hyphen at a line end splits a word, another a compound.
    line = "Pakistan and Russia widened their cooperation in trade, energy and defence matters."
    page1 = [line] * 34 + ["A new interna-",
                           "tional order took shape in trade, energy and defence matters over the years."]
    page2 = ["However, the region changed and both states agreed on a common anti-",
             "Pakistan stance of nobody at all in the end, as the record of talks shows it.",
             "It ended here.", "", "A new paragraph starts on this line."]
    pdf = write_pdf(tmp_path / "long.pdf", [page1, page2], header=None, numbers=False)
    paras = read_file(pdf).strip().split("\n\n")
    assert len(paras) == 2
    assert "A new international order took shape" in paras[0]
    assert "over the years. However, the region" in paras[0]
    assert "common anti-Pakistan stance" in paras[0] and paras[0].endswith("It ended here.")
    assert paras[1] == "A new paragraph starts on this line."
