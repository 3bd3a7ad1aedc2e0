"""Commands that must not depend on the folder they run in, and messages that name what to do."""

from __future__ import annotations

import pytest
from conftest import TINY_CODEBOOK, coded_tiny, write_corpus

from coding.cli import main, skipped_codes
from coding.errors import CodingError
from coding.jobs import pipeline


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A coded tiny corpus whose store sits in ./outputs of the current folder."""
    corpus = write_corpus(tmp_path)
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text(TINY_CODEBOOK, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    pipeline.run(corpus, codebook, tmp_path / "outputs", progress=False, report=False)
    return tmp_path, corpus, codebook


def test_a_report_of_another_folder_says_which_store_it_reads(project, capsys):
    root, _, _ = project
    assert main(["report", "--out", "elsewhere"]) == 0
    assert "no store in elsewhere; reading outputs/project.sqlite" in capsys.readouterr().err
    assert (root / "elsewhere" / "report.html").is_file()


def test_leaving_out_a_speaker_who_speaks_nowhere_is_an_error(project, capsys):
    assert main(["report", "--skip-speaker", "Nobody At All"]) == 2
    assert "--skip-speaker 'Nobody At All' matches no unit's speaker" in capsys.readouterr().err


def test_the_refusal_of_an_emptied_manifest_names_prune(project):
    root, corpus, codebook = project
    header = (corpus / "manifest.csv").read_text(encoding="utf-8").splitlines()[0]
    other = root / "corpus2"
    other.mkdir()
    (other / "z.txt").write_text("Some gas trade.", encoding="utf-8")
    # a manifest listing none of the stored documents: a wrong folder or one emptied by mistake
    row = {"id": "z", "title": "Z", "doc_type": "report", "date": "2020", "source": "s", "path": "z.txt"}
    (other / "manifest.csv").write_text(header + "\n" + ",".join(row.get(c, "") for c in header.split(",")) + "\n",
                                        encoding="utf-8")
    with pytest.raises(CodingError, match="give --prune to remove them"):
        pipeline.run(other, codebook, root / "outputs", progress=False, report=False)


def test_codes_a_model_skipped_are_named_by_id():
    skipped = [{"code": "energy", "positives": 1, "negatives": 30}, {"code": "arms", "positives": 0, "negatives": 31}]
    assert skipped_codes(skipped) == "energy, arms"


def test_an_unchanged_rerun_says_nothing_changed_and_wrote_nothing(tmp_path, monkeypatch, capsys):
    corpus = write_corpus(tmp_path)
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text(TINY_CODEBOOK, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    args = ["run", "--corpus", str(corpus), "--codebook", str(codebook), "--out", "out"]
    assert main(args) == 0
    assert "wrote out/report.html" in capsys.readouterr().out
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "wrote" not in printed
    assert "nothing changed in out/segments.csv, out/codings.csv, out/report.html, out/manifest.json" in printed


class _Quiet:
    """A coder that codes nothing (any coder fits where the dictionary coder does)."""

    name, version = "quiet", "1"

    def code(self, units):
        return []


def test_a_run_with_another_coder_writes_its_own_report_folder(tmp_path):
    out = coded_tiny(tmp_path).parent
    corpus, codebook = tmp_path / "corpus", tmp_path / "codebook.yaml"
    main_report = (out / "report.html").read_bytes()
    summary = pipeline.run(corpus, codebook, out, progress=False, coder=_Quiet())
    assert summary.outputs["report"] == out / "reports" / "coder-quiet" / "report.html"
    assert summary.outputs["report"].is_file()
    assert (out / "report.html").read_bytes() == main_report  # the main report is left alone
