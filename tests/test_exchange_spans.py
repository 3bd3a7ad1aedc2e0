"""People's codings from QDA programs kept as they made them: span codings,
per-user accounting of every selection, code identity across renames,
memos, notes and cases, and the order of users on export."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from conftest import DOCS, TINY_CODEBOOK, write_corpus

from coding import exchange as refi
from coding.cli import main
from coding.codebook import load_codebook
from coding.jobs.pipeline import run
from coding.store import Store

G = "00000000-0000-0000-0000-{:012d}"
#: The shared samples, beside the project (../shared from its root); never copied into it.
SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "refi-qda" / "samples"


def _project(tmp_path, docs=DOCS):
    corpus = write_corpus(tmp_path, docs)
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text(TINY_CODEBOOK, encoding="utf-8")
    run(corpus, codebook, tmp_path / "out", progress=False, report=False)
    return codebook, tmp_path / "out" / "project.sqlite"


def _write_qdpx(path: Path, qde: str, texts: dict[int, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.qde", qde.encode("utf-8"))
        for n, text in texts.items():
            zf.writestr(f"sources/{G.format(n)}.txt", text.encode("utf-8"))
    return path


def _sel(n: int, text: str, part: str, user: int, codes: list[int], memo: str = "", coder: int | None = None,
         nth: int = 0) -> str:
    """A PlainTextSelection of ``part`` of ``text`` (its ``nth`` occurrence)."""
    start = text.index(part)
    for _ in range(nth):
        start = text.index(part, start + 1)
    cod = "".join(f'<Coding guid="{G.format(n * 10 + i)}" creatingUser="{G.format(coder or user)}" '
                  f'creationDateTime="2024-05-0{1 + i}T10:00:00Z"><CodeRef targetGUID="{G.format(c)}"/></Coding>'
                  for i, c in enumerate(codes))
    desc = f"<Description>{memo}</Description>" if memo else ""
    return (f'<PlainTextSelection guid="{G.format(n)}" name="{part[:20]}" startPosition="{start}" '
            f'endPosition="{start + len(part)}" creatingUser="{G.format(user)}" '
            f'creationDateTime="2024-05-01T09:00:00Z">{desc}{cod}</PlainTextSelection>')


def _qualcoder_shaped(path: Path) -> Path:
    """A project as QualCoder writes one after two people coded in it: fresh
    code GUIDs, the code 'Energy' renamed 'Energy supply' (its description
    kept), free selections (whole paragraphs, more and less than half of
    one), memos, an annotation, a journal, a document memo, a project memo
    and a case with an attribute."""
    a, b = DOCS["a"][3], DOCS["b"][3]
    sels_a = (_sel(500, a, "Gas pipelines and trade grew.", 1, [101], memo="pipelines are energy")
              + _sel(501, a, "Militants crossed the Pak Afghan border", 1, [301])
              + _sel(502, a, "joint exercises", 1, [201]))
    sels_b = (_sel(503, b, "Helicopters were sold. Terrorism fell.", 2, [301])
              + _sel(504, b, "Helicopters were sold.", 1, [201])
              + _sel(505, b, "minister", 1, [], memo="which minister?"))
    return _write_qdpx(path, f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="pilot" origin="QualCoder 3.8.2">
<Users><User guid="{G.format(1)}" name="ana"/><User guid="{G.format(2)}" name="ben"/></Users>
<CodeBook><Codes>
 <Code guid="{G.format(100)}" name="Economic" isCodable="true">
  <Code guid="{G.format(101)}" name="Energy supply" isCodable="true" color="#FF0000">
   <Description>energy supply and deals</Description></Code>
  <Code guid="{G.format(102)}" name="Trade" isCodable="true"/></Code>
 <Code guid="{G.format(200)}" name="Strategic" isCodable="true">
  <Code guid="{G.format(201)}" name="Defence cooperation" isCodable="true"/></Code>
 <Code guid="{G.format(300)}" name="Regional security" isCodable="true">
  <Code guid="{G.format(301)}" name="Terrorism" isCodable="true"/></Code>
</Codes></CodeBook>
<Variables><Variable guid="{G.format(700)}" name="sector" typeOfVariable="Text"/></Variables>
<Cases><Case guid="{G.format(710)}" name="Ministry"><Description>official voices</Description>
 <VariableValue><VariableRef targetGUID="{G.format(700)}"/><TextValue>government</TextValue></VariableValue>
 <SourceRef targetGUID="{G.format(11)}"/></Case></Cases>
<Sources>
 <TextSource guid="{G.format(10)}" name="a.txt" plainTextPath="internal://{G.format(10)}.txt"
   creatingUser="{G.format(1)}"><Description>chapter draft, checked twice</Description>{sels_a}</TextSource>
 <TextSource guid="{G.format(11)}" name="b.txt" plainTextPath="internal://{G.format(11)}.txt"
   creatingUser="{G.format(1)}"><Description>Doc B</Description>{sels_b}</TextSource>
</Sources>
<Notes><Note guid="{G.format(800)}" name="week 1" creatingUser="{G.format(1)}"
  creationDateTime="2024-05-03T08:00:00Z"><PlainTextContent>coded a and b</PlainTextContent></Note></Notes>
<Description>pilot coding of two documents</Description>
</Project>
""", {10: a, 11: b})


def _pairs(store, coder):
    _docs, _units, codings = store.frames(coder=coder)
    return sorted(zip(codings["unit_id"], codings["variable"], codings["code"]))


def test_qualcoder_shaped_round_trip_keeps_spans_renames_memos_and_cases(tmp_path):
    codebook, db = _project(tmp_path)
    cb = load_codebook(codebook)
    qdpx = _qualcoder_shaped(tmp_path / "qc.qdpx")
    with Store(db) as store:
        report = refi.import_project(store, qdpx, "ana", cb, user="ana")
        ana, ben = report.users["ana"], report.users["ben"]
        # every selection accounted for, per user
        assert (ana.imported, ana.whole, ana.mapped, ana.partial, ana.annotations, ana.refused) == (
            True, 1, 2, 1, 1, {})
        assert (ben.imported, ben.selections, ben.whole) == (False, 1, 1)
        lines = "\n".join(report.lines())
        assert "user 'ana' (imported): 5 selection(s): 1 kept whole, 2 mapped to units, 1 partial" in lines
        assert "user 'ben' (not imported: choose it with --user 'ben'): 1 selection(s)" in lines
        # the renamed code keeps its codings: matched by its definition
        assert report.code_matches == {"Economic > Energy supply": ("economic", "energy", "definition")}
        assert not report.unknown_codes
        assert _pairs(store, "ana") == [("a:p0001", "economic", "energy"),
                                        ("a:p0002", "regional_security", "terrorism"),
                                        ("b:p0002", "strategic", "defence")]
        spans = store.span_codings("ana")
        a = DOCS["a"][3]
        joint = a.index("joint exercises")
        assert ("ana", "a", joint, joint + 15, "defence", "strategic", "2024-05-01T10:00:00+00:00", "") in spans
        assert ("ana", "a", 0, 29, "energy", "economic", "2024-05-01T10:00:00+00:00", "pipelines are energy") in spans
        assert len(spans) == 4
        notes = store.exchange_notes("ana")
        kinds = sorted(n[1] for n in notes)
        assert kinds == ["annotation", "case", "document memo", "journal", "project memo"]
        case = next(n for n in notes if n[1] == "case")
        assert case[2:4] == ("b", "Ministry")
        assert json.loads(case[4]) == {"attributes": {"sector": "government"}, "description": "official voices"}

        out = refi.export_project(store, tmp_path / "back.qdpx", coders=["auto", "ana"])
        refi.validate_schema(out)
        root = refi.parse_xml(zipfile.ZipFile(out).read("project.qde"), out)
        users = [u.get("name") for u in root.iter("{urn:QDA-XML:project:1.0}User")]
        assert users[0] == "ana" and users.index("ana") < users.index("auto")  # QualCoder opens as a person
        again = refi.export_project(store, tmp_path / "again.qdpx", coders=["auto", "ana"])
        assert again.read_bytes() == out.read_bytes()  # stable GUIDs, same bytes

        back = refi.import_project(store, out, "ana-back", cb, user="ana")
        assert back.seen_from == "project" and not back.unknown_codes
        assert _pairs(store, "ana-back") == _pairs(store, "ana")
        assert [s[1:] for s in store.span_codings("ana-back")] == [s[1:] for s in spans]
        assert sorted(n[1:] for n in store.exchange_notes("ana-back")) == sorted(n[1:] for n in notes)


def test_active_coder_comes_first_and_must_be_exported(tmp_path, capsys):
    codebook, db = _project(tmp_path)
    out = tmp_path / "p.qdpx"
    with Store(db) as store:
        refi.import_project(store, _qualcoder_shaped(tmp_path / "qc.qdpx"), "ana", load_codebook(codebook),
                            user="ana")
    assert main(["export", "project", "--out", str(out), "--store", str(db), "--active-coder", "auto"]) == 0
    root = refi.parse_xml(zipfile.ZipFile(out).read("project.qde"), out)
    assert [u.get("name") for u in root.iter("{urn:QDA-XML:project:1.0}User")][:2] == ["auto", "ana"]
    assert main(["export", "project", "--out", str(out), "--store", str(db), "--active-coder", "zoe"]) == 2
    assert "the active coder 'zoe' is not among the exported coders" in capsys.readouterr().err


LONG = ("The long interview. " + "Talk about gas and the border went on for a long while. " * 40).strip() + "\n"


def _nvivo_shaped(path: Path) -> Path:
    """A project as NVivo writes one: the selection's author (Kim) apart from
    the coding's (Lee), a four-level code tree, one long paragraph in which
    no selection reaches half a unit, and a code the codebook lacks."""
    sels = (_sel(500, LONG, "gas", 1, [1001], coder=2)
            + _sel(501, LONG, "the border", 1, [1004], coder=2)
            + _sel(502, LONG, "the border", 1, [1005], coder=2, nth=1)
            + _sel(503, LONG, "The long interview.", 1, [1004]))
    return _write_qdpx(path, f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Untitled" origin="NVivo for Windows 12.6">
<Users><User guid="{G.format(2)}" name="Lee"/><User guid="{G.format(1)}" name="Kim"/></Users>
<CodeBook><Codes>
 <Code guid="{G.format(1000)}" name="Economic" isCodable="true">
  <Code guid="{G.format(1001)}" name="Energy" isCodable="true"/></Code>
 <Code guid="{G.format(1002)}" name="Regional security" isCodable="true">
  <Code guid="{G.format(1003)}" name="Threats" isCodable="true">
   <Code guid="{G.format(1006)}" name="Inside" isCodable="true">
    <Code guid="{G.format(1004)}" name="Terrorism" isCodable="true"/></Code>
   <Code guid="{G.format(1007)}" name="Outside" isCodable="true">
    <Code guid="{G.format(1005)}" name="Piracy" isCodable="true"/></Code></Code></Code>
</Codes></CodeBook>
<Sources><TextSource guid="{G.format(10)}" name="long" plainTextPath="internal://{G.format(10)}.txt">{sels}
</TextSource></Sources></Project>
""", {10: LONG})


def test_nvivo_shaped_partial_selections_authors_deep_tree_and_new_codes(tmp_path, capsys):
    codebook, db = _project(tmp_path, {"long": ("Long", "interview", "2020", LONG)})
    qdpx = _nvivo_shaped(tmp_path / "nv.qdpx")
    cb = load_codebook(codebook)
    with Store(db) as store:
        report = refi.import_project(store, qdpx, "lee", cb, user="Lee")
        lee = report.users["Lee"]
        # the long paragraph is one unit: every selection is below the threshold, kept as a span
        assert (lee.whole, lee.mapped, lee.partial) == (0, 0, 2)
        assert lee.refused == {"code not in the codebook (add it, or import with --new-codes)": 1}
        assert report.unknown_codes == {"Regional security > Threats > Outside > Piracy": 1}
        assert report.users["Kim"].selections == 1 and not report.users["Kim"].imported
        assert report.authors_differ == {("Kim", "Lee"): 3}
        assert "3 selection(s) made by user 'Kim' hold codings made by user 'Lee': they count for 'Lee'" in (
            "\n".join(report.lines()))
        assert [s[4] for s in store.span_codings("lee")] == ["energy", "terrorism"]
        assert _pairs(store, "lee") == []  # nothing reaches a unit, and nothing is lost: the spans hold it
        # the selections' author made no codings: said, not silently empty
        kim = refi.import_project(store, qdpx, "kim", cb, user="Kim")
        assert any("'Kim' made 3 selection(s) whose codings were made by 'Lee': they are not imported" in w
                   for w in kim.warnings)
        # a span codes its unit once the threshold allows it
        low = refi.import_project(store, qdpx, "lee-low", cb, user="Lee", min_overlap=0.0)
        assert low.users["Lee"].mapped == 2 and _pairs(store, "lee-low") == [
            ("long:p0001", "economic", "energy"), ("long:p0001", "regional_security", "terrorism")]

    args = ["import", str(qdpx), "--coder", "lee", "--user", "Lee", "--store", str(db), "--codebook", str(codebook),
            "--replace"]  # "lee" is in the store from the library calls above
    assert main(args) == 1  # a code that matches nothing is refused, never dropped with exit 0
    assert "1 coding(s) of 1 code(s) not in the codebook were refused" in capsys.readouterr().err
    assert main([*args, "--new-codes"]) == 0
    assert "refused" not in capsys.readouterr().err
    with Store(db) as store:
        spans = store.span_codings("lee", with_status=True)
        piracy = [s for s in spans if s[4] == "piracy"]
        # kept under its top-level variable, with its parent chain
        assert [(s[5], s[8], s[9]) for s in piracy] == [
            ("regional_security", "new code", "Regional security > Threats > Outside > Piracy")]
        out = refi.export_project(store, tmp_path / "back.qdpx", coders=["lee"])
        refi.validate_schema(out)
        qde = zipfile.ZipFile(out).read("project.qde").decode("utf-8")
        assert 'name="Piracy"' in qde and 'name="Outside"' in qde and qde.count("<PlainTextSelection") == 3
        # and back: the same spans, the new code with its whole chain (codebook codes sit in the codebook's tree)
        refi.import_project(store, out, "lee-back", cb, user="lee", new_codes=True)
        back = store.span_codings("lee-back", with_status=True)
        assert [s[1:9] for s in back] == [s[1:9] for s in spans]
        assert [s[9] for s in back if s[4] == "piracy"] == ["Regional security > Threats > Outside > Piracy"]


def test_codebook_import_keeps_the_chain_of_a_deep_tree(tmp_path):
    qdpx = _nvivo_shaped(tmp_path / "nv.qdpx")
    out = tmp_path / "cb.yaml"
    notes: list[str] = []
    refi.import_codebook(qdpx, out, notes=notes)
    assert "4 code(s) lie deeper than two levels: each is a code of its top-level variable, with its parent " \
           "chain kept as a comment in the codebook" in notes
    text = out.read_text(encoding="utf-8")
    assert "# in the file: Regional security > Threats > Outside > Piracy\n  - id: piracy" in text


def test_own_codebook_survives_its_qdc_round_trip(tmp_path):
    cbfile = tmp_path / "codebook.yaml"
    cbfile.write_text(TINY_CODEBOOK.replace("    patterns: [trade", "    include: exports too\n    patterns: [trade")
                      .replace("settings:\n", "settings:\n  study_period: [2012, 2023]\n  variable_colours:\n"
                               "    economic: \"#1b9e77\"\n", 1), encoding="utf-8")
    cb = load_codebook(cbfile)
    qdc = refi.export_codebook(cb, tmp_path / "cb.qdc")
    refi.validate_schema(qdc)
    assert main(["import", str(qdc), "--out", str(tmp_path / "back.yaml"), "--codebook", str(cbfile)]) == 0
    back = load_codebook(tmp_path / "back.yaml")  # ready to use: no pattern left to fill
    fields = ("id", "label", "variable", "definition", "include", "exclude", "examples", "counterexamples",
              "patterns", "exclude_patterns", "context_patterns")
    assert [tuple(getattr(c, f) for f in fields) for c in back.codes] == [
        tuple(getattr(c, f) for f in fields) for c in cb.codes]
    assert back.mask_patterns == cb.mask_patterns and back.settings.study_period == (2012, 2023)
    assert back.settings.variable_colours["economic"] == "#1b9e77"
    assert (back.name, back.description) == (cb.name, cb.description)


def test_codebook_check_refuses_what_export_refuses(tmp_path, capsys):
    cbfile = tmp_path / "codebook.yaml"
    cbfile.write_text(TINY_CODEBOOK.replace("label: Trade", "label: Economic"), encoding="utf-8")
    assert main(["codebook", "check", "--codebook", str(cbfile)]) == 2
    assert "has the label 'Economic' of variable 'economic'" in capsys.readouterr().err
    assert main(["export", "codebook", "--out", str(tmp_path / "x.qdc"), "--codebook", str(cbfile)]) == 2


def _sample_project(tmp_path, sample: Path, unit: str):
    """A corpus of the sample's own source texts (read where they lie), a
    codebook made from its code tree, coded; returns (codebook, store path)."""
    import xml.etree.ElementTree as ET

    with zipfile.ZipFile(sample) as zf:
        root = ET.fromstring(zf.read(next(n for n in zf.namelist() if n.lower().endswith(".qde"))))
        docs = {}
        for src in root.iter("{urn:QDA-XML:project:1.0}TextSource"):
            member = next(n for n in zf.namelist() if n.lower().endswith(src.get("plainTextPath")[11:].lower()))
            docs[src.get("name")] = (src.get("name"), "transcript", "2025", zf.read(member).decode("utf-8-sig"))
    corpus = write_corpus(tmp_path, docs)
    refi.import_codebook(sample, tmp_path / "skeleton.yaml")
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text((tmp_path / "skeleton.yaml").read_text(encoding="utf-8")
                        .replace("patterns: []", "patterns: [zzqxzzq]"), encoding="utf-8")
    run(corpus, codebook, tmp_path / "out", unit=unit, progress=False, report=False)
    return load_codebook(codebook), tmp_path / "out" / "project.sqlite"


NVIVO = [("nvivo-win-12.6.qdpx", 303, {"Gergo": 303}, {("floriansipos", "Gergo"): 297}),
         ("nvivo-mac-12.7.qdpx", 297, {"floriansipos": 297}, {})]


@pytest.mark.parametrize(("name", "total", "per_user", "differ"), NVIVO)
def test_real_nvivo_exports_account_for_every_selection(tmp_path, name, total, per_user, differ):
    sample = SAMPLES / name
    if not sample.is_file():
        pytest.skip(f"the shared NVivo sample {name} is not present beside the project")
    cb, db = _sample_project(tmp_path, sample, "paragraph")
    with Store(db) as store:
        report = refi.import_project(store, sample, "nvivo", cb)
        assert report.selections == total and not report.unknown_codes
        assert {u: t.selections for u, t in report.users.items() if t.selections} == per_user
        assert report.authors_differ == differ  # NVivo's coding author, and said so
        (user, tally), = ((u, t) for u, t in report.users.items() if t.imported)
        # paragraphs tens of thousands of characters long: every selection kept as a span, none codes a unit
        assert (tally.whole, tally.mapped, tally.partial, tally.refused) == (0, 0, total, {})
        assert max(chars for _share, chars in tally.partial_shares) > 40_000
        spans = store.span_codings("nvivo", with_status=True)
        assert len(spans) == report.spans == total
        # the four-level tree keeps its parent chain
        assert max(s[9].count(" > ") for s in spans) == 3
        notes: list[str] = []
        refi.import_codebook(sample, notes=notes)
        assert any("lie deeper than two levels" in n for n in notes)


def test_real_nvivo_export_with_sentence_units(tmp_path):
    sample = SAMPLES / "nvivo-win-12.6.qdpx"
    if not sample.is_file():
        pytest.skip("the shared NVivo sample is not present beside the project")
    cb, db = _sample_project(tmp_path, sample, "sentence")
    with Store(db) as store:
        report = refi.import_project(store, sample, "nvivo", cb)
        gergo = report.users["Gergo"]
        assert gergo.whole + gergo.mapped + gergo.partial == 303 and not gergo.refused
        assert report.selections_used == gergo.whole + gergo.mapped
        assert (gergo.whole, gergo.mapped, gergo.partial) == (0, 156, 147)
        assert len(store.span_codings("nvivo")) == report.spans


def test_a_schema_2_store_gains_the_span_tables(tmp_path):
    import sqlite3

    _codebook, db = _project(tmp_path)
    con = sqlite3.connect(db)
    con.executescript("DROP TABLE span_codings; DROP TABLE exchange_notes; "
                      "UPDATE meta SET value='2' WHERE key='schema_version';")
    con.close()
    with Store(db) as store:
        assert store.span_codings() == [] and store.exchange_notes() == []


def test_atlas_sample_keeps_its_notes_and_gives_them_back(tmp_path):
    sample = SAMPLES / "TestProject.qdpx"
    if not sample.is_file():
        pytest.skip("the shared ATLAS.ti sample is not present beside the project")
    mabel = ("x" * 299 + ".\n\n" + "y" * 500 + ".\n")  # the sample ships no texts: one named like a source
    corpus = write_corpus(tmp_path, {"Mabel": ("Mabel", "interview", "2018", mabel)})
    refi.import_codebook(sample, tmp_path / "skeleton.yaml")
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text((tmp_path / "skeleton.yaml").read_text(encoding="utf-8")
                        .replace("patterns: []", "patterns: [zzqxzzq]"), encoding="utf-8")
    run(corpus, codebook, tmp_path / "out", progress=False, report=False)
    cb = load_codebook(codebook)
    with Store(tmp_path / "out" / "project.sqlite") as store:
        report = refi.import_project(store, sample, "atlas", cb)
        (tally,) = report.users.values()
        assert tally.selections == 8 and tally.mapped == 1 and sum(tally.refused.values()) == 7
        # its code groups are the variables, and the codes of the one usable selection are kept
        assert [s[4:6] for s in store.span_codings("atlas")] == [
            ("bacon_and_eggs", "breakfast_food"), ("cornflakes", "breakfast_food"), ("happiness", "feelings")]
        journals = [n for n in store.exchange_notes("atlas") if n[1] == "journal"]
        assert [(n[3], n[5]) for n in journals] == [("Research Plan", "Friedrich Markgraf"),
                                                    ("My favorite Coke ad", "Friedrich Markgraf")]
        assert journals[0][4].endswith("day to day log about this amazing project")  # its description too
        out = refi.export_project(store, tmp_path / "back.qdpx", coders=["atlas"])
        refi.validate_schema(out)
        refi.import_project(store, out, "atlas-back", cb, user="atlas")
        assert [n[1:] for n in store.exchange_notes("atlas-back")] == [n[1:] for n in store.exchange_notes("atlas")]
        assert [s[1:] for s in store.span_codings("atlas-back")] == [s[1:] for s in store.span_codings("atlas")]


def test_a_later_full_import_of_the_coder_supersedes_its_spans(tmp_path):
    codebook, db = _project(tmp_path)
    cb = load_codebook(codebook)
    with Store(db) as store:
        refi.import_project(store, _qualcoder_shaped(tmp_path / "qc.qdpx"), "ana", cb, user="ana")
        assert store.span_codings("ana") and store.exchange_notes("ana")
        store.replace_coder("ana", sorted(store.unit_ids()), [], cb.version)  # e.g. a coder file read since
        assert store.span_codings("ana") == [] and store.exchange_notes("ana") == []
        store.remove_coder("ana")
        refi.import_project(store, _qualcoder_shaped(tmp_path / "qc.qdpx"), "ana", cb, user="ana")
        store.remove_coder("ana")
        assert store.span_codings() == [] and store.exchange_notes() == []


def test_document_pages_show_a_span_coding_where_it_lies(tmp_path, monkeypatch):
    codebook, db = _project(tmp_path)
    with Store(db) as store:
        refi.import_project(store, _qualcoder_shaped(tmp_path / "qc.qdpx"), "ana", load_codebook(codebook),
                            user="ana")
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--coders", "auto,ana", "--store", str(db), "--out", str(tmp_path / "pages")]) == 0
    page = (tmp_path / "pages" / "documents" / "a.html").read_text(encoding="utf-8")
    start = page.index('id="a:p0002"')
    unit = page[start:page.index("</aside>", start)]
    # beside the unit it lies in, also where it reached no unit
    assert ("ana selected: Defence cooperation &ldquo;joint exercises&rdquo; (below the unit threshold)"
            in unit)
    assert "ana selected: Terrorism &ldquo;Militants crossed the Pak Afghan border&rdquo;</span>" in unit


def test_a_codebook_with_a_renamed_code_keeps_its_id(tmp_path):
    cbfile = tmp_path / "codebook.yaml"
    cbfile.write_text(TINY_CODEBOOK, encoding="utf-8")
    cb = load_codebook(cbfile)
    qdc = refi.export_codebook(cb, tmp_path / "cb.qdc")
    text = qdc.read_text(encoding="utf-8")
    # renamed in a program that keeps GUIDs (and rewrites the description)
    same_guid = tmp_path / "guid.qdc"
    same_guid.write_text(text.replace('name="Energy"', 'name="Energy supply"')
                         .replace("energy supply and deals", "power"), encoding="utf-8")
    notes: list[str] = []
    ids = {e.label: e.id for e in refi.import_codebook(same_guid, codebook=cb, notes=notes)}
    assert ids["Energy supply"] == "energy" and "energy_supply" not in ids.values()
    assert "code 'Energy supply' keeps the id 'energy' of the current codebook (same GUID)" in notes
    # renamed in a program that writes new GUIDs (QualCoder): the definition says which code it is
    new_guid = tmp_path / "new.qdc"
    new_guid.write_text(text.replace('name="Energy"', 'name="Energy supply"')
                        .replace(refi.guid("code", "energy"), refi.guid("code", "elsewhere")), encoding="utf-8")
    notes = []
    ids = {e.label: e.id for e in refi.import_codebook(new_guid, codebook=cb, notes=notes)}
    assert ids["Energy supply"] == "energy"
    assert "code 'Energy supply' keeps the id 'energy' of the current codebook (same definition)" in notes
    # a code of the current codebook the file lacks is said, not dropped silently
    gone = tmp_path / "gone.qdc"
    gone.write_text(text.replace('name="Trade"', 'name="Commerce"').replace("trade and investment", "buying"),
                    encoding="utf-8")
    notes = []
    ids = {e.label: e.id for e in refi.import_codebook(gone, codebook=cb, notes=notes)}
    assert ids["Commerce"] == "trade"  # its GUID still says which it is
    assert not [n for n in notes if "is not in the file" in n]
    notes = []
    refi.import_codebook(_without_terrorism(text, tmp_path), codebook=cb, notes=notes)
    assert "code 'terrorism' (Terrorism) of the current codebook is not in the file" in notes


def _without_terrorism(text: str, tmp_path: Path) -> Path:
    start = text.index('<Code guid="' + refi.guid("code", "terrorism"))
    end = text.index("</Code>", start) + len("</Code>")
    path = tmp_path / "no-terrorism.qdc"
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    return path


def test_atlas_codes_outside_the_codebook_keep_their_code_group(tmp_path):
    sample = SAMPLES / "TestProject.qdpx"
    if not sample.is_file():
        pytest.skip("the shared ATLAS.ti sample is not present beside the project")
    mabel = ("x" * 299 + ".\n\n" + "y" * 500 + ".\n")
    codebook, db = _project(tmp_path, {"Mabel": ("Mabel", "interview", "2018", mabel)})
    with Store(db) as store:
        report = refi.import_project(store, sample, "atlas", load_codebook(codebook), new_codes=True)
        (tally,) = report.users.values()
        assert (tally.new_codes, tally.mapped, tally.selections) == (1, 0, 8)
        assert [(s[5], s[4], s[9]) for s in store.span_codings("atlas", with_status=True)] == [
            ("breakfast_food", "bacon_and_eggs", "Breakfast food > bacon and eggs"),
            ("breakfast_food", "cornflakes", "Breakfast food > cornflakes"),
            ("feelings", "happiness", "Feelings > happiness")]
        out = refi.export_project(store, tmp_path / "back.qdpx", coders=["atlas"])
    refi.validate_schema(out)
    qde = zipfile.ZipFile(out).read("project.qde").decode("utf-8")
    assert 'name="Breakfast food"' in qde and 'name="cornflakes"' in qde


def test_a_code_labelled_like_its_parent_is_not_folded_silently(tmp_path, capsys, monkeypatch):
    qdc = tmp_path / "qc.qdc"
    qdc.write_text(f"""<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="QualCoder 3.8.2"><Codes>
<Code guid="{G.format(1)}" name="Economic" isCodable="false">
 <Code guid="{G.format(2)}" name="Economic" isCodable="true"/>
 <Code guid="{G.format(3)}" name="Energy" isCodable="true"/></Code>
</Codes></CodeBook>
""", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["import", str(qdc), "--out", str(tmp_path / "cb.yaml")]) == 0
    out = capsys.readouterr().out
    assert "note: code 'Economic' is named like its parent: taken as the parent (its codings code the parent)" in out
    assert "fill in the patterns of 1 code(s) before use" in out


@pytest.mark.shipped
def test_the_shipped_codebook_survives_its_own_qdc_round_trip(tmp_path):
    from conftest import REPO

    cb = load_codebook(REPO / "codebook.yaml")
    qdc = refi.export_codebook(cb, tmp_path / "codebook.qdc")
    refi.validate_schema(qdc)
    refi.import_codebook(qdc, tmp_path / "back.yaml", codebook=cb)
    back = load_codebook(tmp_path / "back.yaml")
    fields = ("id", "label", "variable", "definition", "include", "exclude", "examples", "counterexamples",
              "patterns", "exclude_patterns", "context_patterns")
    assert [[getattr(c, f) for f in fields] for c in back.codes] == [[getattr(c, f) for f in fields] for c in cb.codes]
    assert [(v.id, v.label, v.definition, v.include, v.exclude) for v in back.variables] == [
        (v.id, v.label, v.definition, v.include, v.exclude) for v in cb.variables]
    assert (back.mask_patterns, back.settings, back.name) == (cb.mask_patterns, cb.settings, cb.name)


def _mx_sel(n: int, text: str, part: str, user: int, code: int | str | None, note: int | None = None) -> str:
    """A coded segment as MAXQDA exports one: a selection of one code (a number, or a GUID), its memo a
    Note it refers to."""
    start = text.index(part)
    target = G.format(code) if isinstance(code, int) else code
    cod = (f'<Coding guid="{G.format(n * 10)}" creatingUser="{G.format(user)}" creationDateTime='
           f'"2024-06-0{user}T12:00:00Z"><CodeRef targetGUID="{target}"/></Coding>' if code else "")
    ref = f'<NoteRef targetGUID="{G.format(note)}"/>' if note else ""
    return (f'<PlainTextSelection guid="{G.format(n)}" name="{G.format(n)[-4:]}" startPosition="{start}" '
            f'endPosition="{start + len(part)}" creatingUser="{G.format(user)}" '
            f'creationDateTime="2024-06-0{user}T11:00:00Z">{cod}{ref}</PlainTextSelection>')


def _maxqda_shaped(path: Path) -> Path:
    """A project in the shape of MAXQDA's REFI-QDA export after two people
    coded in it: one code per selection, memos as Notes the selections and
    documents refer to, a free memo, code memos as descriptions, colours, a
    four-level code tree, 'Energy' renamed 'Energy supply' under a new GUID
    (its memo kept) and 'Trade' renamed 'Commerce' under the GUID this
    program gave it, document variables as a nameless case of one document,
    a document set, and a rich-text copy of each source beside the plain one."""
    a, b = DOCS["a"][3], DOCS["b"][3]
    maria, jonas = 1, 2
    sels_a = (_mx_sel(600, a, "Gas pipelines and trade grew.", maria, 101, note=901)
              + _mx_sel(601, a, "Militants crossed the Pak Afghan border", maria, 304)
              + _mx_sel(602, a, "joint exercises", jonas, 201)
              + _mx_sel(603, a, "Nothing to see here", maria, None, note=902))
    trade = refi.guid("code", "trade").upper()
    sels_b = (_mx_sel(610, b, "exports", maria, trade)
              + _mx_sel(611, b, "The minister said exports\n\nrose by ten percent.", jonas, trade)
              + _mx_sel(612, b, "Helicopters were sold. Terrorism fell.", jonas, 304)
              + _mx_sel(613, b, "Helicopters were sold. Terrorism fell.", maria, 201))
    return _write_qdpx(path, f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="pilot" origin="MAXQDA 2022">
<Users><User guid="{G.format(maria)}" name="maria"/><User guid="{G.format(jonas)}" name="jonas"/></Users>
<CodeBook><Codes>
 <Code guid="{G.format(100)}" name="Economic" isCodable="true" color="#1B9E77">
  <Code guid="{G.format(101)}" name="Energy supply" isCodable="true" color="#D95F02">
   <Description>energy supply and deals</Description></Code>
  <Code guid="{trade}" name="Commerce" isCodable="true" color="#7570B3"/></Code>
 <Code guid="{G.format(200)}" name="Strategic" isCodable="true">
  <Code guid="{G.format(201)}" name="Defence cooperation" isCodable="true"/></Code>
 <Code guid="{G.format(300)}" name="Regional security" isCodable="true">
  <Code guid="{G.format(302)}" name="Threats" isCodable="true">
   <Code guid="{G.format(303)}" name="Inside" isCodable="true">
    <Code guid="{G.format(304)}" name="Terrorism" isCodable="true"/></Code></Code></Code>
</Codes></CodeBook>
<Variables><Variable guid="{G.format(700)}" name="doc_type" typeOfVariable="Text"/>
 <Variable guid="{G.format(701)}" name="region" typeOfVariable="Text"/></Variables>
<Cases><Case guid="{G.format(710)}">
 <VariableValue><VariableRef targetGUID="{G.format(700)}"/><TextValue>official_statement</TextValue></VariableValue>
 <VariableValue><VariableRef targetGUID="{G.format(701)}"/><TextValue>South Asia</TextValue></VariableValue>
 <SourceRef targetGUID="{G.format(11)}"/></Case></Cases>
<Sources>
 <TextSource guid="{G.format(10)}" name="Doc A" richTextPath="internal://{G.format(10)}.docx"
   plainTextPath="internal://{G.format(10)}.txt" creatingUser="{G.format(maria)}">{sels_a}
   <NoteRef targetGUID="{G.format(903)}"/></TextSource>
 <TextSource guid="{G.format(11)}" name="Doc B" richTextPath="internal://{G.format(11)}.docx"
   plainTextPath="internal://{G.format(11)}.txt" creatingUser="{G.format(maria)}">{sels_b}</TextSource>
</Sources>
<Notes>
 <Note guid="{G.format(901)}" name="Memo" creatingUser="{G.format(maria)}" creationDateTime="2024-06-01T13:00:00Z">
  <PlainTextContent>pipelines are energy</PlainTextContent></Note>
 <Note guid="{G.format(902)}" name="Memo" creatingUser="{G.format(maria)}" creationDateTime="2024-06-01T13:05:00Z">
  <PlainTextContent>a citation, not a finding</PlainTextContent></Note>
 <Note guid="{G.format(903)}" name="Document memo" creatingUser="{G.format(maria)}"
   creationDateTime="2024-06-01T13:10:00Z"><PlainTextContent>chapter draft, checked twice</PlainTextContent></Note>
 <Note guid="{G.format(904)}" name="Free memo" creatingUser="{G.format(jonas)}"
   creationDateTime="2024-06-02T09:00:00Z"><PlainTextContent>second pass planned</PlainTextContent></Note>
</Notes>
<Sets><Set guid="{G.format(720)}" name="Statements"><MemberSource targetGUID="{G.format(11)}"/></Set></Sets>
<Description>pilot coding of two documents</Description>
</Project>
""", {10: a, 11: b})


def test_maxqda_shaped_project_every_selection_per_user_renames_memos_and_back(tmp_path):
    codebook, db = _project(tmp_path)
    cb = load_codebook(codebook)
    qdpx = _maxqda_shaped(tmp_path / "mx.qdpx")
    refi.validate_schema(qdpx)  # the hand-made file is valid QDA-XML
    with Store(db) as store:
        report = refi.import_project(store, qdpx, "maria", cb, user="maria")
        maria, jonas = report.users["maria"], report.users["jonas"]
        # every selection accounted for, per user: 5 of maria's, 3 of jonas's, 8 in the file
        assert (maria.imported, maria.whole, maria.mapped, maria.partial, maria.annotations, maria.refused) == (
            True, 2, 1, 1, 1, {})
        assert (jonas.imported, jonas.whole, jonas.mapped, jonas.partial, jonas.refused) == (False, 2, 0, 1, {})
        assert report.selections == maria.selections + jonas.selections == 8
        assert not report.authors_differ and not report.unknown_codes
        # renamed codes: one by its definition (new GUID), one by the GUID this program wrote
        assert report.code_matches == {"Economic > Energy supply": ("economic", "energy", "definition"),
                                       "Economic > Commerce": ("economic", "trade", "GUID")}
        assert _pairs(store, "maria") == [("a:p0001", "economic", "energy"),
                                          ("a:p0002", "regional_security", "terrorism"),
                                          ("b:p0002", "strategic", "defence")]
        spans = store.span_codings("maria", with_status=True)
        assert [(s[1], s[4], s[7], s[8]) for s in spans] == [
            ("a", "energy", "pipelines are energy", "whole"), ("a", "terrorism", "", "mapped"),
            ("b", "trade", "", "partial"), ("b", "defence", "", "whole")]
        assert spans[1][9] == "Regional security > Threats > Inside > Terrorism"  # the deep tree's chain
        notes = store.exchange_notes("maria")
        assert sorted((n[1], n[4]) for n in notes) == [
            ("annotation", "a citation, not a finding"), ("document note", "chapter draft, checked twice"),
            ("journal", "second pass planned"), ("project memo", "pilot coding of two documents")]
        # document variables: the manifest's are read and compared; others, and document sets, are not
        # kept, and the report says so
        assert report.metadata == {"b": {"doc_type": "official_statement"}}
        assert not [n for n in notes if "South Asia" in n[4] or "Statements" in n[3]]
        lines = "\n".join(report.lines())
        assert "skipped document variable 'region': values on 1 matched document(s) are not kept" in lines
        assert "skipped document set 'Statements': sets of documents are not kept" in lines
        assert any("does not record which units maria saw" in w for w in report.warnings)

        other = refi.import_project(store, qdpx, "jonas", cb, user="jonas")
        assert other.users["jonas"].imported and other.users["maria"].selections == 5
        assert _pairs(store, "jonas") == [("b:p0001", "economic", "trade"),  # its selection spans two paragraphs
                                          ("b:p0002", "regional_security", "terrorism")]

        out = refi.export_project(store, tmp_path / "back.qdpx", coders=["auto", "maria", "jonas"])
        refi.validate_schema(out)
        root = refi.parse_xml(zipfile.ZipFile(out).read("project.qde"), out)
        users = [u.get("name") for u in root.iter("{urn:QDA-XML:project:1.0}User")]
        assert users[:3] == ["maria", "jonas", "auto"]  # the people first: the program opens on a person
        for coder in ("maria", "jonas"):
            # one coder a file: the memos of a project go with each coder exported (see the README)
            out = refi.export_project(store, tmp_path / f"{coder}.qdpx", coders=["auto", coder])
            back = refi.import_project(store, out, f"{coder}-back", cb, user=coder)
            assert back.seen_from == "project" and not back.unknown_codes
            assert {how for *_vc, how in back.code_matches.values()} == {"GUID"}  # stable GUIDs
            assert _pairs(store, f"{coder}-back") == _pairs(store, coder)
            assert [s[1:] for s in store.span_codings(f"{coder}-back")] == [s[1:] for s in
                                                                            store.span_codings(coder)]
            assert sorted(n[1:] for n in store.exchange_notes(f"{coder}-back")) == sorted(
                n[1:] for n in store.exchange_notes(coder))
