"""REFI-QDA export, validation and import, round trip and hostile input."""

from __future__ import annotations

import re
import textwrap
import unicodedata
import zipfile
from pathlib import Path

import pytest
from conftest import TINY_CODEBOOK, write_corpus

from coding import exchange as refi
from coding.cli import main
from coding.codebook import load_codebook, parse_codebook
from coding.errors import CodingError
from coding.jobs.pipeline import run
from coding.records import Coding
from coding.store import Store

SAMPLE = Path("/work/shared/refi-qda/samples/TestProject.qdpx")
if not SAMPLE.is_file():  # pragma: no cover - the sample ships with the shared data
    SAMPLE = None

CURLY = {
    "a": ("Doc A", "thesis_chapter", "2020", ("Gas pipelines and trade grew.\n\n"
          "Militants crossed the Pak Afghan border and joint exercises followed.\n\n"
          "Nothing to see here (Trade Review, 2019).\n")),
    "q": ("Quotes \u2019n\u2019 more", "official_statement", "2021",
          ("The minister\u2019s \u201cgas deal\u201d was signed.\n\n"
           "Caf\u00e9 owners said \u201cno\u201d to the export ban.\n\nHelicopters were sold.\n")),
}


def _project(tmp_path, docs=CURLY):
    corpus = write_corpus(tmp_path, docs)
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text(TINY_CODEBOOK, encoding="utf-8")
    out = tmp_path / "out"
    run(corpus, codebook, out, progress=False, report=False)
    return corpus, codebook, out


def _pairs(store, coder):
    _docs, _units, codings = store.frames(coder=coder)
    return sorted(zip(codings["unit_id"], codings["variable"], codings["code"]))


def test_export_codebook_is_valid_stable_and_nested(tmp_path):
    cb = parse_codebook(TINY_CODEBOOK, "cb.yaml")
    a = refi.export_codebook(cb, tmp_path / "a.qdc")
    b = refi.export_codebook(cb, tmp_path / "b.qdc")
    refi.validate_schema(a)
    assert a.read_bytes() == b.read_bytes()
    root = refi.parse_xml(a.read_bytes(), a)
    assert root.tag == "{urn:QDA-XML:codebook:1.0}CodeBook"
    ns = {"q": "urn:QDA-XML:codebook:1.0"}
    tops = root.findall("q:Codes/q:Code", ns)
    assert [t.get("name") for t in tops] == ["Economic", "Strategic", "Regional security"]
    economic = tops[0]
    assert economic.get("guid") == refi.guid("variable", "economic")
    assert [c.get("name") for c in economic.findall("q:Code", ns)] == ["Energy", "Trade"]
    energy = economic.find("q:Code", ns)
    assert energy.get("guid") == refi.guid("code", "energy") and energy.get("isCodable") == "true"
    assert energy.find("q:Description", ns).text == (  # the definition first, then what else the codebook says
        "energy supply and deals\n\nExamples:\n- Gas pipelines were planned.\n\nCounterexamples:\n"
        "- Nuclear weapons were tested.\n\nPatterns:\n- gas\n- pipeline\n- nuclear power\n- re:\\bLNG\\b\n\n"
        "Exclude patterns:\n- gas chamber")
    assert all(len(c.get("color")) == 7 for c in root.iter("{urn:QDA-XML:codebook:1.0}Code"))


def test_import_codebook_writes_a_skeleton_to_fill(tmp_path):
    cb = parse_codebook(TINY_CODEBOOK.replace("definition: trade and investment\n",
                                              "definition: trade and investment\n    include: exports too\n"),
                        "cb.yaml")
    qdc = refi.export_codebook(cb, tmp_path / "cb.qdc")
    # a codebook without patterns (as other programs write them): the patterns are left to fill
    bare = tmp_path / "bare.qdc"
    bare.write_text(re.sub(r"\n\n(?:Exclude p|P)atterns:\n(?:- [^\n<]*\n?)*", "", qdc.read_text(encoding="utf-8")),
                    encoding="utf-8")
    out = tmp_path / "imported.yaml"
    entries = refi.import_codebook(bare, out)
    assert [(e.id, e.parent) for e in entries if e.parent] == [
        ("energy", "economic"), ("trade", "economic"), ("defence_cooperation", "strategic"),
        ("terrorism", "regional_security")]
    with pytest.raises(CodingError, match="empty pattern list"):
        load_codebook(out)  # the skeleton says patterns must be filled first
    text = out.read_text(encoding="utf-8")
    assert "TO FILL" in text
    out.write_text(text.replace("patterns: []", "patterns: [placeholder]"), encoding="utf-8")
    filled = load_codebook(out)
    assert [(c.id, c.label, c.variable, c.definition) for c in filled.codes][:2] == [
        ("energy", "Energy", "economic", "energy supply and deals"),
        ("trade", "Trade", "economic", "trade and investment")]
    assert [v.label for v in filled.variables] == ["Economic", "Strategic", "Regional security"]
    assert filled.code("trade").include == "exports too"


def test_import_codebook_ids_keep_accented_letters(tmp_path):
    cb = parse_codebook(TINY_CODEBOOK.replace("label: Energy", "label: \u00c9nergie")
                        .replace("label: Economic", "label: \u00c9conomie"), "cb.yaml")
    entries = refi.import_codebook(refi.export_codebook(cb, tmp_path / "cb.qdc"))
    ids = [e.id for e in entries]
    assert "economie" in ids and "energie" in ids  # not "conomie", "nergie"


def test_project_round_trip(tmp_path):
    _corpus, codebook, out = _project(tmp_path)
    cb = load_codebook(codebook)
    with Store(out / "project.sqlite") as store:
        units = sorted(store.unit_ids())
        human = [
            Coding("q:p0001", "energy", "economic", "human-1", cb.version),
            Coding("q:p0002", "", "strategic", "human-1", cb.version),  # variable-level coding
            Coding("a:p0002", "terrorism", "regional_security", "human-1", cb.version),
        ]
        store.replace_coder("human-1", units, human, cb.version)
        qdpx = refi.export_project(store, tmp_path / "p.qdpx", coders=["auto", "human-1"])
        refi.validate_schema(qdpx)
        again = refi.export_project(store, tmp_path / "p2.qdpx", coders=["auto", "human-1"])
        assert qdpx.read_bytes() == again.read_bytes()  # deterministic

        with zipfile.ZipFile(qdpx) as zf:
            names = zf.namelist()
            assert names[0] == "project.qde" and all(n.startswith("sources/") for n in names[1:])
            sguid = refi.guid("source", "q")
            data = zf.read(f"sources/{sguid}.txt")
            assert not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data
            text = data.decode("utf-8")
            qde = refi.parse_xml(zf.read("project.qde"), "qde")
        assert text == CURLY["q"][3]
        ns = "{urn:QDA-XML:project:1.0}"
        sel = next(s for s in qde.iter(ns + "PlainTextSelection") if s.get("name") == "q:p0002")
        start, end = int(sel.get("startPosition")), int(sel.get("endPosition"))
        assert text[start:end] == "Caf\u00e9 owners said \u201cno\u201d to the export ban."
        assert sel.find(f"{ns}Coding/{ns}CodeRef").get("targetGUID") in {
            refi.guid("code", "trade"), refi.guid("variable", "strategic")}
        assert sel.get("creationDateTime").endswith("Z")

        for coder in ("auto", "human-1"):
            report = refi.import_project(store, qdpx, f"{coder}-back", cb, user=coder)
            assert report.stored and not report.unknown_codes and not report.unmatched
            assert {m[2] for m in report.matched} == {"same text"}
            assert _pairs(store, f"{coder}-back") == _pairs(store, coder)
        assert ("q:p0002", "strategic", "") in _pairs(store, "human-1-back")
        with pytest.raises(CodingError, match="several users"):
            refi.import_project(store, qdpx, "mixed", cb)
        with pytest.raises(CodingError, match="no user 'nobody'"):
            refi.import_project(store, qdpx, "mixed", cb, user="nobody")
        cov = store.coverage()
        assert set(cov.loc[cov["coder"] == "human-1-back", "unit_id"]) == set(units)


def _qdpx(path: Path, qde: str, files: dict[str, bytes], qde_name="Project.qde") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(qde_name, qde.encode("utf-8"))
        zf.writestr("Sources/", b"")
        for name, data in files.items():
            zf.writestr(name, data)
    return path


G = "0A000000-0000-0000-0000-0000000000{:02d}"


def _lenient_qde(start, end, start2, end2, name="some other name.docx"):
    return textwrap.dedent(f"""\
        <?xml version="1.0" encoding="utf-8"?>
        <Project xmlns="urn:QDA-XML:project:1.0" name="elsewhere">
          <CodeBook><Codes>
            <Code guid="{G.format(1)}" name="ENERGY" isCodable="true" color="#FF000080"/>
            <Code guid="{G.format(2)}" name="Economy::Trade" isCodable="true" color="#00FF0080"/>
            <Code guid="{G.format(3)}" name="Feelings" isCodable="true"/>
          </Codes></CodeBook>
          <Sources>
            <TextSource guid="{{{G.format(10)}}}" name="{name}" plainTextPath="internal://{G.format(10)}.txt">
              <PlainTextSelection guid="{G.format(11)}" startPosition="{start}" endPosition="{end}">
                <Coding guid="{G.format(12)}"><CodeRef targetGUID="{G.format(2)}"/></Coding>
                <Coding guid="{G.format(13)}"><CodeRef targetGUID="{G.format(3)}"/></Coding>
              </PlainTextSelection>
              <PlainTextSelection guid="{G.format(14)}" startPosition="{start2}" endPosition="{end2}">
                <Coding guid="{G.format(15)}"><CodeRef targetGUID="{{{G.format(1).lower()}}}"/></Coding>
              </PlainTextSelection>
            </TextSource>
            <PictureSource guid="{G.format(20)}" name="photo.jpg" path="internal://x.jpg"/>
            <TextSource guid="{G.format(30)}" name="missing.txt" plainTextPath="internal://nothere.txt"/>
          </Sources>
        </Project>
        """)


def test_import_lenient_crlf_bom_alpha_colours(tmp_path):
    _corpus, codebook, out = _project(tmp_path)
    cb = load_codebook(codebook)
    lf = CURLY["q"][3]
    raw = lf.replace("\n", "\r\n")
    second = "Caf\u00e9 owners said \u201cno\u201d to the export ban."
    s = raw.index(second)  # positions in the text as stored in the archive (CRLF counted)
    assert s != lf.index(second)
    tiny = raw.index("Helicopters")  # a selection over 3 characters of the last paragraph
    qde = _lenient_qde(s, s + len(second), tiny, tiny + 3)
    qdpx = _qdpx(tmp_path / "l.qdpx", qde, {f"Sources/{G.format(10)}.txt": b"\xef\xbb\xbf" + raw.encode("utf-8")})
    with Store(out / "project.sqlite") as store:
        report = refi.import_project(store, qdpx, "imp", cb)
        assert report.matched == [("some other name.docx", "q", "same text")]
        assert report.unknown_codes == {"Feelings": 1}
        assert ("PictureSource", "photo.jpg", "not a text source") in report.skipped
        assert report.unmatched == [("missing.txt", "text file internal://nothere.txt is not in the archive")]
        assert _pairs(store, "imp") == [("q:p0002", "economic", "trade")]
        refi.import_project(store, qdpx, "imp0", cb, min_overlap=0.0)
        assert _pairs(store, "imp0") == [("q:p0002", "economic", "trade"), ("q:p0003", "economic", "energy")]
        assert any("skipped PictureSource" in line for line in report.lines())


def test_import_matches_by_name_when_text_differs_only_in_white_space(tmp_path):
    _corpus, codebook, out = _project(tmp_path)
    cb = load_codebook(codebook)
    src = "  " + CURLY["q"][3].replace("\n\n", "\n \n\n")  # extra white space shifts positions
    second = "Caf\u00e9 owners said"
    s = src.index(second)
    qdpx = _qdpx(tmp_path / "w.qdpx", _lenient_qde(s, s + len(second), 0, 1, name="q.txt"),
                 {f"sources/{G.format(10)}.txt": src.encode("utf-8")}, qde_name="export.qde")
    with Store(out / "project.sqlite") as store:
        report = refi.import_project(store, qdpx, "ws", cb, min_overlap=0.3)
        assert report.matched[0][1:] == ("q", "same text apart from white space")
        assert _pairs(store, "ws") == [("q:p0002", "economic", "trade")]


@pytest.mark.skipif(SAMPLE is None, reason="shared sample not present")
def test_atlas_sample_imports_and_reports_what_it_skipped(tmp_path):
    refi.validate_schema(SAMPLE)
    notes: list[str] = []
    entries = refi.import_codebook(SAMPLE, notes=notes)
    # ATLAS.ti's code groups are variables; a code named like its group is the group, and says so
    assert [(e.label, e.description) for e in entries if not e.parent] == [
        ("Feelings", "thoughts about breakfast foods"), ("Breakfast food", "the foods people might eat for breakfast")]
    assert len([e for e in entries if e.parent]) == 12
    assert "code 'Feelings' is named like its code group: taken as the group" in notes
    assert "code 'sleepy' is also in code group 'positive feelings'; it stays in its first group" in notes
    # a corpus with one document named like a sample source; the sample ships no source texts
    mabel = ("x" * 299 + ".\n\n" + "y" * 500 + ".\n")
    corpus = write_corpus(tmp_path, {"Mabel": ("Mabel", "interview", "2018", mabel)})
    cbfile = tmp_path / "cb.yaml"
    cbfile.write_text(textwrap.dedent("""\
        variables:
          - {id: food, label: Food}
          - {id: mood, label: Mood}
        codes:
          - {id: bacon_and_eggs, label: Bacon and eggs, variable: food, patterns: [bacon]}
          - {id: happiness, label: Happiness, variable: mood, patterns: [happy]}
        """), encoding="utf-8")
    run(corpus, cbfile, tmp_path / "out", progress=False, report=False)
    cb = load_codebook(cbfile)
    with Store(tmp_path / "out" / "project.sqlite") as store:
        report = refi.import_project(store, SAMPLE, "atlas", cb)
        kinds = sorted({k for k, _n, _w in report.skipped})
        assert kinds == ["AudioSource", "PDFSelection", "PictureSource", "VideoSource", "document set"]
        # the document groups that hold the matched document are named, not dropped silently
        sets = {n for k, n, _w in report.skipped if k == "document set"}
        assert sets == {"Mabel", "Text files", "gender: female", "age: 25"}
        assert report.matched[0][:2] == ("Mabel.txt", "Mabel")
        unmatched = {unicodedata.normalize("NFC", n) for n, _why in report.unmatched}
        assert {"Simon.docx", "Mab\u00eal 2i\u00e8me.txt", "Kellogg's Passion for Nutrition.pdf"} <= unmatched
        assert len(unmatched) == 7 and report.sources == 12
        # selection 0-410 covers all of paragraph 1 (0-300) and 108 of paragraph 2's 502 characters
        assert _pairs(store, "atlas") == [("Mabel:p0001", "food", "bacon_and_eggs"),
                                          ("Mabel:p0001", "mood", "happiness")]
        assert report.unknown_codes  # its other codes are not in this codebook
        # nothing matches a corpus of other documents: reported, nothing stored
        _corpus, codebook2, out2 = _project(tmp_path / "other")
    with Store(out2 / "project.sqlite") as store:
        report = refi.import_project(store, SAMPLE, "atlas", load_codebook(codebook2))
        assert not report.stored and len(report.unmatched) == 8 and not report.matched
        assert "atlas" not in {c for c, *_ in store.coders()}


@pytest.mark.skipif(SAMPLE is None, reason="shared sample not present")
def test_cli_import_that_stores_nothing_exits_1_with_the_report(tmp_path, capsys):
    _corpus, codebook, out = _project(tmp_path)
    store = str(out / "project.sqlite")
    assert main(["import", str(SAMPLE), "--coder", "atlas", "--store", store, "--codebook", str(codebook)]) == 1
    captured = capsys.readouterr()
    assert "0 of 12 sources matched" in captured.out and "unmatched 'Mabel.txt'" in captured.out
    assert "nothing was stored" in captured.err
    with Store(store) as st:
        assert "atlas" not in {c for c, *_ in st.coders()}


@pytest.mark.parametrize("member", ["../evil.txt", "/etc/evil.txt", "sources/../../evil.txt"])
def test_refuses_members_leaving_the_archive(tmp_path, member):
    path = tmp_path / "bad.qdpx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.qde", "<Project xmlns='urn:QDA-XML:project:1.0' name='x'/>")
        zf.writestr(member, "x")
    with pytest.raises(CodingError, match="leaves the archive"):
        refi.validate_schema(path)


def test_refuses_big_or_crowded_archives_and_dtds(tmp_path, monkeypatch):
    path = _qdpx(tmp_path / "a.qdpx", "<Project xmlns='urn:QDA-XML:project:1.0' name='x'/>",
                 {f"sources/{i}.txt": b"0123456789" * 10 for i in range(5)})
    refi.validate_schema(path)
    monkeypatch.setattr(refi.archive, "MAX_ARCHIVE_BYTES", 100)
    with pytest.raises(CodingError, match="expands to"):
        refi.validate_schema(path)
    monkeypatch.setattr(refi.archive, "MAX_ARCHIVE_BYTES", 10**6)
    monkeypatch.setattr(refi.archive, "MAX_ARCHIVE_MEMBERS", 3)
    with pytest.raises(CodingError, match="members"):
        refi.validate_schema(path)
    bomb = ('<?xml version="1.0"?><!DOCTYPE Project [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            '<Project xmlns="urn:QDA-XML:project:1.0" name="&b;"/>')
    with pytest.raises(CodingError, match="DTD"):
        refi.validate_schema(_qdpx(tmp_path / "b.qdpx", bomb, {}))
    qdc = tmp_path / "x.qdc"
    qdc.write_text('<!DOCTYPE CodeBook SYSTEM "http://example.org/x.dtd"><CodeBook/>', encoding="utf-8")
    with pytest.raises(CodingError, match="DTD"):
        refi.import_codebook(qdc)
    junk = tmp_path / "junk.qdpx"
    junk.write_bytes(b"nope")
    with pytest.raises(CodingError, match="not a .qdpx"):
        refi.validate_schema(junk)


def test_validate_reports_schema_errors(tmp_path):
    qdc = tmp_path / "bad.qdc"
    qdc.write_text('<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes><Code guid="c001" name="x" '
                   'isCodable="true" color="#FF000080"/></Codes></CodeBook>', encoding="utf-8")
    with pytest.raises(CodingError, match="not valid REFI-QDA") as err:
        refi.validate_schema(qdc)
    assert "\n" not in str(err.value)


def test_cli_export_and_import(tmp_path, capsys):
    _corpus, codebook, out = _project(tmp_path)
    store = str(out / "project.sqlite")
    qdc, qdpx, skel = tmp_path / "cb.qdc", tmp_path / "p.qdpx", tmp_path / "skel.yaml"
    assert main(["export", "codebook", "--format", "qdc", "--out", str(qdc), "--codebook", str(codebook)]) == 0
    refi.validate_schema(qdc)
    assert main(["export", "project", "--out", str(qdpx), "--coders", "auto", "--store", store]) == 0
    refi.validate_schema(qdpx)
    assert main(["import", str(qdpx), "--coder", "copy", "--store", store, "--codebook", str(codebook)]) == 0
    assert "2 of 2 sources matched" in capsys.readouterr().out
    with Store(store) as st:
        assert _pairs(st, "copy") == _pairs(st, "auto")
    assert main(["import", str(qdc), "--out", str(skel)]) == 0
    assert "TO FILL" in skel.read_text(encoding="utf-8")
    assert main(["export", "project", "--out", str(qdpx), "--coders", "nobody", "--store", store]) == 2
    assert "unknown coder" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "x.csv"), "--coder", "c", "--store", store]) == 2


def test_export_refuses_labels_shared_by_a_variable_and_a_code(tmp_path):
    # the loader accepts a code labelled like a variable (it checks each kind alone), but
    # QualCoder keeps one code per name and drops the other's codings
    text = TINY_CODEBOOK.replace("label: Trade", "label: ECONOMIC ")
    cb = parse_codebook(text, "dup.yaml")
    with pytest.raises(CodingError, match="code 'trade' has the label 'ECONOMIC' of variable 'economic'") as err:
        refi.export_codebook(cb, tmp_path / "dup.qdc")
    assert "\n" not in str(err.value) and str(err.value).startswith("dup.yaml: ")
    assert not (tmp_path / "dup.qdc").exists()
    # labels that differ only in Unicode normalisation are the same name too
    nfd = parse_codebook(TINY_CODEBOOK.replace("label: Energy", "label: \u00c9nergie")
                         .replace("label: Trade", "label: E\u0301nergie"), "nfd.yaml")
    with pytest.raises(CodingError, match="unique labels"):
        refi.export_codebook(nfd, tmp_path / "nfd.qdc")

    corpus = write_corpus(tmp_path, CURLY)
    cbfile = tmp_path / "codebook.yaml"
    cbfile.write_text(text, encoding="utf-8")
    run(corpus, cbfile, tmp_path / "out", progress=False, report=False)
    with Store(tmp_path / "out" / "project.sqlite") as store:
        with pytest.raises(CodingError, match="unique labels"):
            refi.export_project(store, tmp_path / "dup.qdpx")
    assert not (tmp_path / "dup.qdpx").exists()
    assert main(["export", "codebook", "--out", str(tmp_path / "dup.qdc"), "--codebook", str(cbfile)]) == 2


def _qualcoder_382_qdc(path: Path, names: dict[str, list[str]]) -> Path:
    """A codebook as QualCoder 3.8.2 writes one (its published export): every
    parent code a category (isCodable false) holding a code of the same name
    and the child codes, fresh GUIDs, palette colours, UTF-8 with a BOM."""
    n = iter(range(100, 1000))
    rows = ['<?xml version="1.0" encoding="utf-8"?>',
            '<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="QualCoder 3.8.2"><Codes>']
    for parent, codes in names.items():
        rows.append(f'<Code guid="{G.format(0)[:-3]}{next(n)}" name="{parent}" isCodable="false">')
        rows.append(f'<Code guid="{G.format(0)[:-3]}{next(n)}" name="{parent}" isCodable="true" color="#F781F3"/>')
        rows += [f'<Code guid="{G.format(0)[:-3]}{next(n)}" name="{c}" isCodable="true" color="#81BEF7"/>'
                 for c in codes]
        rows.append("</Code>")
    rows.append("</Codes></CodeBook>")
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(rows).encode("utf-8"))
    return path


def test_import_codebook_folds_a_code_named_like_its_category(tmp_path):
    qdc = _qualcoder_382_qdc(tmp_path / "qc.qdc", {
        "Economic": ["Energy", "Trade"], "Strategic": ["Defence cooperation"],
        "Regional security": ["Terrorism"]})
    refi.validate_schema(qdc)
    entries = refi.import_codebook(qdc)
    assert [(e.id, e.parent) for e in entries] == [
        ("economic", ""), ("strategic", ""), ("regional_security", ""),
        ("energy", "economic"), ("trade", "economic"), ("defence_cooperation", "strategic"),
        ("terrorism", "regional_security")]  # no economic_2, strategic_2, regional_security_2


def test_import_codebook_keeps_the_current_codebooks_ids(tmp_path, capsys):
    cb = parse_codebook(TINY_CODEBOOK, "cb.yaml")  # code 'defence' is labelled "Defence cooperation"
    # new GUIDs, labels in other case and decomposed accents, one new code whose slug is a kept id
    qdc = _qualcoder_382_qdc(tmp_path / "qc.qdc", {
        "ECONOMIC": ["Energy", "trade"], "Strategic": ["Defence", "defence COOPERATION"],
        "Regional security": ["Terrorism?"]})
    entries = refi.import_codebook(qdc, codebook=cb)
    ids = {e.label: (e.id, e.parent) for e in entries}
    assert ids["ECONOMIC"] == ("economic", "") and ids["trade"] == ("trade", "economic")
    assert ids["defence COOPERATION"] == ("defence", "strategic")
    assert ids["Defence"] == ("defence_2", "strategic")  # new: its slug must not take a kept id
    assert ids["Terrorism?"] == ("terrorism_2", "regional_security")  # nor the id of a code it is not
    assert refi.import_codebook(qdc)[3:6] == [  # without the codebook: slugs of the labels
        refi.ImportedCode("energy", "Energy", "economic", ""), refi.ImportedCode("trade", "trade", "economic", ""),
        refi.ImportedCode("defence", "Defence", "strategic", "")]
    nfd = parse_codebook(TINY_CODEBOOK.replace("label: Energy", "label: \u00c9nergie"), "cb.yaml")
    qdc2 = _qualcoder_382_qdc(tmp_path / "nfd.qdc", {"Economic": ["E\u0301NERGIE"]})
    assert [e.id for e in refi.import_codebook(qdc2, codebook=nfd)] == ["economic", "energy"]
    # the skeleton writer takes the codebook too, and the CLI passes --codebook
    skel = refi.write_codebook_skeleton(refi.import_codebook(qdc), tmp_path / "s.yaml", codebook=cb)
    assert "- id: defence\n    label: \"defence COOPERATION\"" in skel.read_text(encoding="utf-8")
    cbfile = tmp_path / "codebook.yaml"
    cbfile.write_text(TINY_CODEBOOK, encoding="utf-8")
    out = tmp_path / "cli.yaml"
    assert main(["import", str(qdc), "--out", str(out), "--codebook", str(cbfile)]) == 0
    assert "(6 ids kept from " in capsys.readouterr().out
    assert "- id: defence\n    label: \"defence COOPERATION\"" in out.read_text(encoding="utf-8")
    assert main(["import", str(qdc), "--out", str(out), "--codebook", str(tmp_path / "none.yaml"),
                 "--force"]) == 2
    assert "give another with --codebook" in capsys.readouterr().err


def _times(store, coder):
    return {(r[1], r[5], r[6]): r[7] for r in store.export_rows([coder])}


def test_export_dates_sources_and_import_keeps_coding_times(tmp_path):
    _corpus, codebook, out = _project(tmp_path)
    cb = load_codebook(codebook)
    old = {("q:p0001", "economic", "energy"): "2019-03-04T05:06:07+00:00",
           ("a:p0002", "regional_security", "terrorism"): "2018-01-02T03:04:05+00:00"}
    with Store(out / "project.sqlite") as store:
        store.replace_coder("human-1", sorted(store.unit_ids()),
                            [Coding(u, c, v, "human-1", cb.version) for u, v, c in old], cb.version)
        assert store.set_coding_times("human-1", cb.version, old) == 2
        qdpx = refi.export_project(store, tmp_path / "p.qdpx", coders=["human-1"])
        refi.validate_schema(qdpx)
        with zipfile.ZipFile(qdpx) as zf:
            qde = refi.parse_xml(zf.read("project.qde"), "qde")
        ns = "{urn:QDA-XML:project:1.0}"
        users = {u.get("name"): u.get("guid") for u in qde.iter(ns + "User")}
        sources = {s.get("name"): s for s in qde.iter(ns + "TextSource")}
        assert all(s.get("creatingUser") == users[refi.export.PROGRAM_USER] for s in sources.values())
        assert sources["a"].get("creationDateTime") == "2018-01-02T03:04:05Z"  # its earliest coding
        assert sources["q"].get("creationDateTime") == "2019-03-04T05:06:07Z"

        report = refi.import_project(store, qdpx, "back", cb)
        assert report.stored and not report.warnings
        assert _times(store, "back") == old  # not the time of import

        # QualCoder dates the selection only, in local time marked Z; other programs give offsets
        lf = CURLY["q"][3]
        s = lf.index("Caf\u00e9")
        qde_text = _lenient_qde(s, s + 40, 0, 10).replace(
            f'<PlainTextSelection guid="{G.format(11)}"',
            f'<PlainTextSelection creationDateTime="2021-01-15T23:37:54Z" guid="{G.format(11)}"').replace(
            f'<Coding guid="{G.format(15)}"', f'<Coding creationDateTime="2020-06-01T12:00:00.5+02:00" '
                                              f'guid="{G.format(15)}"')
        lenient = _qdpx(tmp_path / "l.qdpx", qde_text, {f"sources/{G.format(10)}.txt": lf.encode("utf-8")})
        refi.import_project(store, lenient, "dated", cb, min_overlap=0.0)
        assert _times(store, "dated") == {("q:p0002", "economic", "trade"): "2021-01-15T23:37:54+00:00",
                                          ("q:p0001", "economic", "energy"): "2020-06-01T10:00:00+00:00"}
        undated = _qdpx(tmp_path / "u.qdpx", _lenient_qde(s, s + 40, 0, 10),
                        {f"sources/{G.format(10)}.txt": lf.encode("utf-8")})
        report = refi.import_project(store, undated, "undated", cb)
        assert "1 coding(s) without a valid creationDateTime carry the time of import" in report.warnings


def test_document_metadata_travels_as_variables(tmp_path):
    _corpus, codebook, out = _project(tmp_path)
    cb = load_codebook(codebook)
    with Store(out / "project.sqlite") as store:
        qdpx = refi.export_project(store, tmp_path / "p.qdpx", coders=["auto"])
        refi.validate_schema(qdpx)
        with zipfile.ZipFile(qdpx) as zf:
            qde_bytes = zf.read("project.qde")
            files = {n: zf.read(n) for n in zf.namelist() if n != "project.qde"}
        qde = refi.parse_xml(qde_bytes, "qde")
        ns = "{urn:QDA-XML:project:1.0}"
        names = {v.get("guid"): v.get("name") for v in qde.iter(ns + "Variable")}
        assert {"title", "doc_type", "date", "source"} <= set(names.values())
        assert "speaker" not in names.values()  # no document has one
        q = next(s for s in qde.iter(ns + "TextSource") if s.get("name") == "q")
        values = {names[v.find(ns + "VariableRef").get("targetGUID")]: v.find(ns + "TextValue").text
                  for v in q.iter(ns + "VariableValue")}
        assert values["doc_type"] == "official_statement" and values["date"] == "2021"
        assert values["title"] == CURLY["q"][0] and values["source"] == "src q"

        report = refi.import_project(store, qdpx, "back", cb)
        assert report.metadata["q"] == {"title": CURLY["q"][0], "doc_type": "official_statement",
                                        "date": "2021", "source": "src q"}
        assert set(report.metadata) == {"a", "q"} and not report.metadata_differences
        # a value changed in another program is reported, and the MAXQDA way (a nameless case
        # holding one source's values) is read too
        changed = qde_bytes.replace(b"<TextValue>2021</TextValue>", b"<TextValue>2022</TextValue>")
        date_guid = next(g for g, n in names.items() if n == "date")
        case = (f'<Cases><Case guid="{G.format(90)}"><VariableValue><VariableRef targetGUID="{date_guid}"/>'
                f'<TextValue>1999</TextValue></VariableValue><SourceRef targetGUID="{refi.guid("source", "a")}"/>'
                "</Case></Cases><Sources>").encode()
        changed = changed.replace(b"<Sources>", case, 1)
        other = tmp_path / "other.qdpx"
        with zipfile.ZipFile(other, "w") as zf:
            zf.writestr("project.qde", changed)
            for n, data in files.items():
                zf.writestr(n, data)
        refi.validate_schema(other)
        report = refi.import_project(store, other, "back", cb)
        assert report.metadata["q"]["date"] == "2022" and report.metadata["a"]["date"] == "1999"
        assert sorted(report.metadata_differences) == [("a", "date", "1999", "2020"), ("q", "date", "2022", "2021")]
        assert "  metadata of 'q': date is '2022' in the project, '2021' in the store" in report.lines()


def test_import_reads_the_units_each_coder_saw(tmp_path, capsys):
    _corpus, codebook, out = _project(tmp_path)
    cb = load_codebook(codebook)
    store_path = out / "project.sqlite"
    with Store(store_path) as store:
        # human-1 saw part of 'a' (its first and last paragraph, not the middle) and all of 'q', coding 2 units
        seen = ["a:p0001", "a:p0003", "q:p0001", "q:p0002", "q:p0003"]
        store.replace_coder("human-1", seen, [Coding("a:p0001", "energy", "economic", "human-1", cb.version),
                                              Coding("q:p0003", "", "strategic", "human-1", cb.version)], cb.version)
        qdpx = refi.export_project(store, tmp_path / "p.qdpx", coders=["auto", "human-1"])
        refi.validate_schema(qdpx)
        report = refi.import_project(store, qdpx, "back", cb, user="human-1")
        assert report.seen_from == "project" and not report.warnings and report.units_seen == 5
        cov = store.coverage()
        assert sorted(cov.loc[cov["coder"] == "back", "unit_id"]) == seen  # not all 6 units
        assert _pairs(store, "back") == _pairs(store, "human-1")

        # a file from another program records nothing: inferred, and said so
        lf = CURLY["q"][3]
        s = lf.index("Caf\u00e9")
        other = _qdpx(tmp_path / "o.qdpx", _lenient_qde(s, s + 40, 0, 10),
                      {f"sources/{G.format(10)}.txt": lf.encode("utf-8")})
        report = refi.import_project(store, other, "other", cb)
        assert report.seen_from == "coded" and report.units_seen == 3  # the units of 'q', the coded document
        assert any("does not record which units other saw" in w for w in report.warnings)
        report = refi.import_project(store, other, "other", cb, seen="documents")
        assert report.seen_from == "documents" and report.units_seen == 3
        with pytest.raises(CodingError, match="seen must be one of coded, documents"):
            refi.import_project(store, other, "other", cb, seen="all")

        # codings outside the record count as seen, with a warning; a record that is not ranges is an error
        spans = {u.id: (u.start, u.end) for u in store.units()}
        with zipfile.ZipFile(qdpx) as zf:
            qde = zf.read("project.qde").decode("utf-8")
            files = {n: zf.read(n) for n in zf.namelist() if n != "project.qde"}
        recorded = "{}-{} {}-{}".format(*spans["a:p0001"], *spans["a:p0003"])
        assert f"<TextValue>{recorded}</TextValue>" in qde
        middle = "{}-{}".format(*spans["a:p0002"])  # the record now says human-1 saw only the unit not coded
        moved = _qdpx(tmp_path / "m.qdpx", qde.replace(recorded, middle), files, qde_name="project.qde")
        report = refi.import_project(store, moved, "moved", cb, user="human-1")
        assert report.warnings == ["1 coded unit(s) lie outside the units the project records as seen; "
                                   "they count as seen"]
        cov = store.coverage()
        assert sorted(cov.loc[cov["coder"] == "moved", "unit_id"]) == ["a:p0001", "a:p0002"] + seen[2:]
        bad = _qdpx(tmp_path / "b.qdpx", qde.replace(recorded, "first paragraph"), files, qde_name="project.qde")
        with pytest.raises(CodingError, match="variable 'units seen by human-1' of source 'a' is not a list of "
                                              "character ranges like '0-57 59-130': 'first paragraph'"):
            refi.import_project(store, bad, "bad", cb, user="human-1")

    # its code 'Feelings' is in no codebook: refused, and said with a non-zero exit, unless kept as a new code
    assert main(["import", str(other), "--coder", "cli", "--store", str(store_path), "--codebook", str(codebook),
                 "--seen", "documents"]) == 1
    assert "1 coding(s) of 1 code(s) not in the codebook were refused" in capsys.readouterr().err
    assert main(["import", str(other), "--coder", "cli", "--store", str(store_path), "--codebook", str(codebook),
                 "--seen", "documents", "--new-codes", "--replace"]) == 0  # the codes it knew were kept
    printed = capsys.readouterr().out
    assert "warning: the project does not record which units cli saw" in printed and "--seen" in printed
