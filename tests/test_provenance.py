"""Reliability with its provenance: in-sample agreement and validation say so next to the figure."""

from __future__ import annotations

import pandas as pd
from conftest import TINY_CODEBOOK, write_corpus

from coding.cli import main
from coding.coders import provenance
from coding.coders.coder_choice import shipped_model
from coding.coders.learn import load_model
from coding.jobs import pipeline

H1 = "unit_id,variable\na:p0001,economic\na:p0002,strategic\na:p0003,economic\nb:p0001,economic\n"


def _project(tmp_path, development: bool):
    corpus = write_corpus(tmp_path)
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text(TINY_CODEBOOK, encoding="utf-8")
    (corpus / "coders").mkdir()
    (corpus / "coders" / "h1.csv").write_text(H1, encoding="utf-8")
    if development:
        (corpus / "coders" / "provenance.yaml").write_text("development_coders: [h1]\n", encoding="utf-8")
    out = tmp_path / "out"
    pipeline.run(corpus, codebook, out, progress=False)
    return out


def test_agreement_and_validation_on_development_units_say_they_are_in_sample(tmp_path, capsys):
    out = _project(tmp_path, development=True)
    assert main(["agree", "--coders", "auto,h1", "--out", str(out), "--resamples", "100"]) == 0
    printed = capsys.readouterr().out
    assert "note: In-sample: the codebook was tuned on the units h1 coded" in printed
    table = pd.read_csv(out / "agreement" / "auto-vs-h1-variable" / "agreement.csv")
    assert set(table["provenance"]).pop().startswith("In-sample")
    assert main(["validate", "--coder", "h1", "--out", str(out)]) == 0
    assert "note: In-sample" in capsys.readouterr().out
    assert "In-sample: the codebook was tuned on the units h1 coded" in (out / "report.html").read_text("utf-8")


def test_no_warning_without_a_development_set(tmp_path, capsys):
    out = _project(tmp_path, development=False)
    assert main(["agree", "--coders", "auto,h1", "--out", str(out), "--resamples", "100"]) == 0
    assert "In-sample" not in capsys.readouterr().out


class _Store:
    """What provenance.notes reads of a store whose learned coder used the shipped model."""

    def __init__(self, version):
        self.version = version

    def coder_versions(self, coder):
        return [self.version] if coder == "learned" else []

    def development_coders(self):
        return []


def test_a_learned_coder_against_a_person_it_was_trained_on_is_in_sample():
    model = load_model(shipped_model())
    store = _Store(model.sha256[:12] + "+m1")
    trained = model.training["coders"][0]
    (note,) = provenance.notes(store, ["learned", trained])
    assert note.startswith(f"In-sample: learned was trained on the codings of {trained}")
    assert provenance.notes(store, ["learned", "someone-else"]) == []
    # a model that is not the shipped one: the report cannot tell, and says so
    (note,) = provenance.notes(_Store("0123456789ab+m1"), ["learned", trained])
    assert "not known" in note


class _MentionStore(_Store):
    """A store whose mention coder used the model of ``version``; h2 is a development coder."""

    def coder_versions(self, coder):
        return [self.version] if coder == "mentions" else []

    def development_coders(self):
        return ["h2"]


def test_the_mention_coder_against_its_training_or_development_coders_is_in_sample():
    from coding.coders.mentions import load_model as load_mentions
    from coding.coders.mentions import shipped_model_path

    model = load_mentions(shipped_model_path())
    trained = model.training["coders"]
    assert "human-1" in trained  # the thesis paragraphs human-1 coded are in its training
    store = _MentionStore(model.sha256[:12] + "+m1")
    (note,) = provenance.notes(store, ["mentions", trained[0], "h2"])
    assert note.startswith(f"In-sample: mentions was trained on the codings of {trained[0]}")
    assert "it decides by the codebook's patterns, tuned on the units h2 coded" in note
    (note,) = provenance.notes(store, ["mentions", "h2"])
    assert note.startswith("In-sample: mentions decides by the codebook's patterns")
    assert provenance.notes(store, ["mentions", "someone-else"]) == []
    (note,) = provenance.notes(_MentionStore("0123456789ab+m1"), ["mentions", trained[0]])
    assert "not known" in note
    # no mention coding in the store: nothing to say
    assert provenance.notes(_Store("x"), ["mentions", trained[0]]) == []
