"""A round trip through QualCoder, replayed: our export is rewritten the way
QualCoder exports a project it imported, then imported back.

CI cannot run QualCoder, so the files QualCoder would write are built here
from our own export, following the REFI-QDA schema and QualCoder's published
export (its ``refi.py``, 3.8.2 and current; no file of QualCoder's is used):

* every GUID is new (random), users included; Users are the coders whose
  codings it holds and the sources' creator;
* text sources are written as UTF-8 with a byte-order mark, under new file
  names; with its MAXQDA option each LF becomes CRLF while the positions
  stay those of the LF text;
* selections are named with their text and dated, their codings carry a
  creatingUser but no date;
* 3.8.2 writes each parent code as a category (``isCodable="false"``) holding
  a code of the same name, which takes the parent's codings; current
  versions nest codable codes as we do; colours move to its palette;
* document variables come back as ``Variables`` with a ``VariableValue`` on
  each source; the project ends with a ``Description``.
"""

from __future__ import annotations

import random
import uuid
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY_CODEBOOK, write_corpus

from coding import exchange as refi
from coding.agreement.audit import audit_agreement
from coding.codebook import load_codebook
from coding.coder_files import import_coder
from coding.jobs.pipeline import run
from coding.store import Store

NS = "urn:QDA-XML:project:1.0"
CB_NS = "urn:QDA-XML:codebook:1.0"
PALETTE = ("#F781F3", "#81BEF7", "#F3F781", "#81F7D8", "#FA5858")
GUID_ATTRIBUTES = ("guid", "targetGUID", "creatingUser", "creatingUserGUID")


# -- a corpus with enough units for agreement ------------------------------------

SENTENCES = [
    "Gas pipelines were planned for the region.",
    "Trade and investment grew across the border.",
    "Militants crossed the Pak Afghan border at night.",
    "The armies held a joint exercise in spring.",
    "Helicopters were sold under a defence agreement.",
    "Nothing in this paragraph concerns the codebook.",
    "Exports of LNG rose while terrorism fell.",
    "A quiet year passed without news.",
]


def _docs() -> dict[str, tuple[str, str, str, str]]:
    docs = {}
    for d in range(6):
        paragraphs = [SENTENCES[(d * 3 + p) % len(SENTENCES)] + f" Paragraph {p} of document {d}."
                      for p in range(7)]
        docs[f"d{d}"] = (f"Document {d}", "report", f"20{10 + d}", "\n\n".join(paragraphs) + "\n")
    return docs


@pytest.fixture
def project(tmp_path):
    """A store coded by auto and by human-1, who saw four documents (one of
    them in part), coded variables and codes, and differs from auto."""
    corpus = write_corpus(tmp_path, _docs())
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text(TINY_CODEBOOK, encoding="utf-8")
    out = tmp_path / "out"
    run(corpus, codebook, out, progress=False, report=False)
    store = Store(out / "project.sqlite")
    _docs_, units, codings = store.frames(coder="auto")
    seen = [u for u in units["unit_id"] if u.split(":")[0] in ("d0", "d1", "d2") or u in ("d3:p0002", "d3:p0005")]
    rows = ["unit_id,variable,code"]
    for i, uid in enumerate(seen):
        mine = codings[codings["unit_id"] == uid]
        kept = [(v, c) for j, (v, c) in enumerate(zip(mine["variable"], mine["code"])) if (i + j) % 4 != 3]
        if i % 5 == 0:
            kept.append(("economic", "trade"))
        if i % 6 == 1:
            kept.append(("strategic", ""))  # a variable-level coding
        rows += [f"{uid},{v},{c}" for v, c in sorted(set(kept))] or [f"{uid},,"]
    csv = tmp_path / "human-1.csv"
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    import_coder(store, csv, "human-1")
    yield store, load_codebook(codebook), tmp_path
    store.close()


# -- QualCoder's export, replayed --------------------------------------------------

def _q(tag: str, ns: str = NS) -> str:
    return f"{{{ns}}}{tag}"


class _NewGuids:
    """Random GUIDs in QualCoder's style (lower-case uuid4), the same new GUID for the same old one."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.map: dict[str, str] = {}

    def __call__(self, old: str) -> str:
        key = old.strip("{}").upper()
        if key not in self.map:
            self.map[key] = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        return self.map[key]

    def rewrite(self, root: ET.Element) -> None:
        for el in root.iter():
            for attr in GUID_ATTRIBUTES:
                if el.get(attr):
                    el.set(attr, self(el.get(attr)))


def _qualcoder_codes(codes: ET.Element, version: str, ns: str, guids: _NewGuids) -> dict[str, str]:
    """Rewrite a ``<Codes>`` tree as QualCoder exports it; returns the GUIDs
    whose codings move to another code (3.8.2: a parent's to its twin)."""
    moved = {}
    for n, el in enumerate(codes.iter(_q("Code", ns))):
        el.set("color", PALETTE[n % len(PALETTE)])
    if version != "3.8.2":
        return moved
    for top in list(codes):
        twin = ET.Element(_q("Code", ns), {"guid": guids(f"twin-{top.get('guid')}"), "name": top.get("name"),
                                           "isCodable": "true", "color": top.get("color")})
        top.set("isCodable", "false")
        del top.attrib["color"]
        described = 1 if top.find(_q("Description", ns)) is not None else 0
        top.insert(described, twin)
        moved[top.get("guid")] = twin.get("guid")
    return moved


def _qualcoder_sources(root: ET.Element, texts: dict[str, str], moved: dict[str, str], crlf: bool,
                       guids: _NewGuids) -> list[tuple[str, bytes]]:
    """Rewrite the text sources as QualCoder does; returns the archive's source files."""
    files = []
    for src in root.iter(_q("TextSource")):
        old_file = src.get("plainTextPath").removeprefix("internal://")
        text = texts[old_file]
        new_file = f"{guids('file-' + src.get('guid'))}.txt"
        src.set("plainTextPath", f"internal://{new_file}")
        for sel in src.findall(_q("PlainTextSelection")):
            sel.set("name", text[int(sel.get("startPosition")):int(sel.get("endPosition"))])
            for coding in sel.findall(_q("Coding")):
                coding.attrib.pop("creationDateTime", None)
                ref = coding.find(_q("CodeRef"))
                ref.set("targetGUID", moved.get(ref.get("targetGUID"), ref.get("targetGUID")))
        data = text.replace("\n", "\r\n") if crlf else text
        files.append((f"sources/{new_file}", b"\xef\xbb\xbf" + data.encode("utf-8")))
    return files


def qualcoder_qdpx(ours: Path, out: Path, version: str = "3.8.2", crlf: bool = False, seed: int = 7) -> Path:
    """Our ``.qdpx`` as QualCoder ``version`` would export it after importing it."""
    with zipfile.ZipFile(ours) as zf:
        root = refi.parse_xml(zf.read("project.qde"), ours)
        texts = {Path(n).name: zf.read(n).decode("utf-8") for n in zf.namelist() if n.startswith("sources/")}
    guids = _NewGuids(seed)
    authors = {el.get("creatingUser") for el in root.iter() if el.get("creatingUser")}
    users = root.find(_q("Users"))
    for user in list(users):
        if user.get("guid") not in authors:
            users.remove(user)  # QualCoder knows only users who made something
    guids.rewrite(root)
    moved = _qualcoder_codes(root.find(f"{_q('CodeBook')}/{_q('Codes')}"), version, NS, guids)
    files = _qualcoder_sources(root, texts, moved, crlf, guids)
    root.set("origin", f"QualCoder {version}")
    root.set("creatingUserGUID", guids("project user"))
    root.set("creationDateTime", "2024-05-06T07:08:09Z")
    ET.SubElement(root, _q("Description")).text = "project memo"
    ET.register_namespace("", NS)
    xml = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", xml)
        zf.writestr("sources/", b"")
        for name, data in files:
            zf.writestr(name, data)
    return out


def qualcoder_qdc(ours: Path, out: Path, version: str = "3.8.2", seed: int = 11) -> Path:
    """Our ``.qdc`` as QualCoder ``version`` would export it (UTF-8 with a BOM)."""
    root = refi.parse_xml(ours.read_bytes(), ours)
    guids = _NewGuids(seed)
    guids.rewrite(root)
    _qualcoder_codes(root.find(_q("Codes", CB_NS)), version, CB_NS, guids)
    root.set("origin", f"QualCoder {version}")
    ET.register_namespace("", CB_NS)
    out.write_bytes(b"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?>\n" + ET.tostring(root, encoding="utf-8"))
    return out


# -- the round trip -------------------------------------------------------------------

def _pairs(store, coder):
    _docs, _units, codings = store.frames(coder=coder)
    return sorted(zip(codings["unit_id"], codings["variable"], codings["code"]))


def _seen(store, coder):
    cov = store.coverage()
    return sorted(cov.loc[cov["coder"] == coder, "unit_id"])


def _agreement(store, coders):
    return audit_agreement(store, coders, "variable", n_resamples=200, seed=1)


@pytest.mark.parametrize(("version", "crlf"), [("3.8.2", False), ("3.8.2", True), ("3.9", False)])
def test_project_round_trip_through_qualcoder(project, version, crlf):
    store, cb, tmp_path = project
    ours = refi.export_project(store, tmp_path / "ours.qdpx", coders=["auto", "human-1"])
    refi.validate_schema(ours)
    theirs = qualcoder_qdpx(ours, tmp_path / "theirs.qdpx", version=version, crlf=crlf)
    refi.validate_schema(theirs)
    with zipfile.ZipFile(theirs) as zf:  # the replay really changed what QualCoder changes
        qde = zf.read("project.qde").decode("utf-8")
        assert refi.guid("source", "d0") not in qde and refi.guid("code", "energy") not in qde
        assert all(zf.read(n).startswith(b"\xef\xbb\xbf") for n in zf.namelist() if n.endswith(".txt"))

    for coder in ("human-1", "auto"):
        report = refi.import_project(store, theirs, f"{coder}-back", cb, user=coder)
        assert report.stored and report.seen_from == "project"
        assert len(report.matched) == len(store.documents()) == report.sources and not report.unmatched
        assert not report.unknown_codes and not report.skipped
        assert _pairs(store, f"{coder}-back") == _pairs(store, coder)  # every coding, under the codebook's ids
        assert _seen(store, f"{coder}-back") == _seen(store, coder)  # the seen sets as exported
        times = {r[1:] for r in store.export_rows([coder])}
        assert {(u, s, e, coder, v, c, t) for u, s, e, _c, v, c, t in
                (r[1:] for r in store.export_rows([f"{coder}-back"]))} == times
        assert all(set(m) == {"title", "doc_type", "date", "source"} for m in report.metadata.values())
        assert not report.metadata_differences
        assert [w for w in report.warnings if "CRLF" not in w] == []
        assert any("CRLF" in w for w in report.warnings) == crlf
    assert len(_seen(store, "human-1")) < len(store.unit_ids())  # the seen set is a real subset
    assert 0 < len(_pairs(store, "human-1")) != len(_pairs(store, "auto"))
    pd.testing.assert_frame_equal(_agreement(store, ["auto", "human-1-back"]), _agreement(store, ["auto", "human-1"]))

    # the code tree comes back with the codebook's ids: every variable and code, no twins
    entries = refi.import_codebook(theirs, codebook=cb)
    assert [(e.id, e.label, e.parent) for e in entries] == (
        [(v.id, v.label, "") for v in cb.variables] + [(c.id, c.label, c.variable) for c in cb.codes])


@pytest.mark.parametrize("version", ["3.8.2", "3.9"])
def test_codebook_round_trip_through_qualcoder(tmp_path, version):
    cbfile = tmp_path / "codebook.yaml"
    cbfile.write_text(TINY_CODEBOOK, encoding="utf-8")
    cb = load_codebook(cbfile)
    theirs = qualcoder_qdc(refi.export_codebook(cb, tmp_path / "ours.qdc"), tmp_path / "theirs.qdc", version)
    refi.validate_schema(theirs)
    assert refi.guid("code", "energy") not in theirs.read_text(encoding="utf-8-sig")
    entries = refi.import_codebook(theirs, codebook=cb)
    assert [(e.id, e.label, e.parent) for e in entries] == (
        [(v.id, v.label, "") for v in cb.variables] + [(c.id, c.label, c.variable) for c in cb.codes])
    assert entries[0].description == "economic matters"
    # without the current codebook the ids are the labels' slugs ('defence' is "Defence cooperation")
    assert "defence_cooperation" in [e.id for e in refi.import_codebook(theirs)]
