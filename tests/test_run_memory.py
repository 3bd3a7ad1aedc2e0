"""The coding stage of `coding run` in flat memory: no whole-corpus frames or
id sets, and no per-document scan of a whole table (quadratic time)."""

from __future__ import annotations

import pytest

from coding.errors import CodingError
from coding.jobs import pipeline
from coding.store import Store


def _with_coders(corpus):
    (corpus / "coders").mkdir()
    (corpus / "coders" / "human-1.csv").write_text(
        "unit_id,variable\na:p0001,economic\na:p0002,strategic\nb:p0001,\n", encoding="utf-8")
    (corpus / "coders" / "human-2.csv").write_text(
        "unit_id,variable\na:p0002,strategic\nb:p0002,regional_security\n", encoding="utf-8")


def _refuse(*_args, **_kwargs):
    raise AssertionError("the coding stage must not hold the whole corpus")


def test_coding_stage_builds_no_whole_corpus_frames(tiny, monkeypatch):
    corpus, codebook, out = tiny
    _with_coders(corpus)
    for name in ("frames", "codings_frame", "unit_ids", "units", "documents"):
        monkeypatch.setattr(Store, name, _refuse)
    summary = pipeline.run(corpus, codebook, out, progress=False, report=False)
    monkeypatch.undo()
    assert summary.coders_imported == ["human-1", "human-2"]
    with Store(out / "project.sqlite") as store:
        _, units, codings = store.frames(coder="auto")
    assert summary.units == len(units) == 5
    for v in ("economic", "strategic", "regional_security"):
        mine = codings[codings["variable"] == v]
        assert summary.codings_per_variable[v] == len(mine)
        assert summary.units_per_variable[v] == mine["unit_id"].nunique()


def test_unknown_units_in_a_coder_file_are_still_named(tiny):
    corpus, codebook, out = tiny
    (corpus / "coders").mkdir()
    (corpus / "coders" / "h.csv").write_text("unit_id,variable\na:p0001,economic\nzz:p0001,economic\n",
                                             encoding="utf-8")
    with pytest.raises(CodingError, match="unknown unit id.*zz:p0001"):
        pipeline.run(corpus, codebook, out, progress=False, report=False)


def test_people_rows_are_those_of_a_table_scan_in_its_order(tiny):
    corpus, codebook, out = tiny
    _with_coders(corpus)
    pipeline.run(corpus, codebook, out, progress=False, report=False)
    with Store(out / "project.sqlite") as store:
        assert [k[0] for k in store._coverage_keys()] == ["auto", "human-1", "human-2"]
        for doc in ("a", "b"):
            # what the rows were before: people's coverage found by scanning the whole table
            scan = store.db.execute(
                "SELECT coder, unit_id, '', '', codebook_version, '', '' FROM coverage WHERE coder NOT IN "
                "('auto','learned') AND unit_id IN (SELECT id FROM units WHERE document_id=? "
                "AND segmentation='paragraph')", (doc,)).fetchall()
            rows = store._people_rows(doc, "paragraph")
            assert scan and [r for r in rows if r[2] == ""] == scan
