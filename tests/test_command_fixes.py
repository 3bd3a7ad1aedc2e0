"""Commands that must not depend on the folder they run in, and messages that name what to do."""

from __future__ import annotations

import pytest
from conftest import TINY_CODEBOOK, write_corpus

from coding import pipeline
from coding.cli import main, skipped_codes
from coding.errors import CodingError


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
