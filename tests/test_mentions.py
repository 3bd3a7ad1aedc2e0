"""The mention coder: candidates, multiple-instance training, calibration,
the protocol's splits, language detection, model files. Every text here is
invented for the tests."""

from __future__ import annotations

import random

import numpy as np
import pytest

from coding.codebook import parse_codebook
from coding.coders.language_id import is_english
from coding.coders.mention_design import design
from coding.coders.mention_labels import Labelled, code_labels, name_codes
from coding.coders.mention_protocol import (
    best_threshold,
    collection_folds,
    expected_calibration_error,
    inner_folds,
    platt,
)
from coding.coders.mention_training import best_scores, fit, fit_code, predict, to_model, weak_code_labels
from coding.coders.mentions import Extractor, MentionCoder, load_model, save_model, sentences
from coding.errors import CodingError
from coding.records import Coder, Unit

CODEBOOK = """
name: invented
description: a codebook for the mention coder's tests
variables:
  - {id: economic, label: Economic}
  - {id: strategic, label: Strategic}
  - {id: regional_security, label: Regional security}
codes:
  - id: energy
    label: Energy
    variable: economic
    patterns: [gas, pipeline]
  - id: trade
    label: Trade
    variable: economic
    patterns: [trade, export]
  - id: defence
    label: Defence
    variable: strategic
    patterns: [joint exercise, helicopter]
  - id: militancy
    label: Militancy
    variable: regional_security
    patterns: [militant, insurgent]
"""

# "gas" in a deal is energy, in a kitchen it is not: only the sentence tells.
ENERGY = ["The ministry of {p} signed a gas contract with the state utility.",
          "A new gas pipeline will feed power plants across {p}.",
          "Officials in {p} agreed on gas supplies for the winter."]
KITCHEN = ["The cook in {p} lowered the gas under the soup.",
           "On a small gas flame the baker of {p} simmered the stew.",
           "Grandmother lit the gas stove in {p} for the lentils."]
DEFENCE = ["Pilots from {p} flew helicopters in a joint exercise.", "A joint exercise was held near {p}."]
MILITANCY = ["Militants attacked a checkpoint outside {p}.", "Insurgents crossed the hills near {p} at night."]
FILLER = ["Rain fell over {p} on the weekend.", "The museum of {p} reopened its doors.",
          "Schoolchildren in {p} planted trees.", "A festival in {p} drew large crowds."]
PLACES = ["Vantor", "Quell", "Miren", "Tallis", "Brezno", "Oruk", "Sela", "Dunmor"]


@pytest.fixture(scope="module")
def codebook():
    return parse_codebook(CODEBOOK, "invented.yaml")


def invented(n: int, seed: int, codebook, collections="ABC") -> list[Labelled]:
    """Units of two to four sentences: energy, kitchen gas, defence,
    militancy and filler at random; code labels known for every code."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        parts, codes = [rng.choice(FILLER)], set()
        r = rng.random()
        if r < 0.35:
            parts.append(rng.choice(ENERGY))
            codes.add("energy")
        elif r < 0.7:
            parts.append(rng.choice(KITCHEN))
        if rng.random() < 0.3:
            parts.append(rng.choice(DEFENCE))
            codes.add("defence")
        if rng.random() < 0.3:
            parts.append(rng.choice(MILITANCY))
            codes.add("militancy")
        rng.shuffle(parts)
        text = " ".join(p.format(p=rng.choice(PLACES)) for p in parts)
        variables = {codebook.code(c).variable for c in codes}
        out.append(Labelled(f"{collections[i % len(collections)]}{i:03d}", collections[i % len(collections)],
                            f"page-{i // 2}", text, frozenset(variables), code_labels(variables, codes, codebook)))
    return out


@pytest.fixture(scope="module")
def trained(codebook):
    units = invented(150, 1, codebook)
    d = design(Extractor(codebook), [u.text for u in units])
    codes = [c.id for c in codebook.codes]
    fitted = fit(d, units, np.arange(len(units)), codes, {"C_grid": (0.3, 1.0), "rounds": 2})
    model = to_model(d, fitted, codebook, {"units": len(units)})
    return units, d, fitted, model


def test_sentences_split_at_ends_and_keep_offsets():
    text = 'One sentence here. "Another one!" And a third? yes, lower case goes on.'
    spans = sentences(text)
    assert [text[s:e] for s, e in spans] == ["One sentence here.", '"Another one!"',
                                             "And a third? yes, lower case goes on."]
    # every hit lies in a sentence: the first starts at 0, whatever the text begins with
    from coding.coders.mention_features import _spans

    for t in ("", "   ", "  Lead space. Then more.", ". A start", "\n\nTwo. Three.", "x"):
        assert _spans(t)[0][0] == 0, t


def test_candidates_carry_hits_cues_and_position(codebook):
    text = "The cook did not light the gas. Militants attacked a checkpoint in Quell."
    cand = Extractor(codebook).analyse(text)
    assert len(cand.spans) == 2 and not cand.short and cand.english
    first, second = cand.features
    assert {"hit:energy", "term:gas", "neg", "neg+hit:energy", "first", "near:militancy"} <= set(first)
    assert {"hit:militancy", "last"} <= set(second) and "neg" not in second
    assert cand.hits["energy"][0][3] == 0 and cand.hits["militancy"][0][3] == 1
    assert "u:cook" in cand.unit and "uhit:militancy" in cand.unit
    assert Extractor(codebook).analyse("Gas prices").short


def test_a_coded_variable_without_code_labels_takes_its_codes_with_a_hit(codebook):
    """A unit whose reader coded only variables: the coded variable's codes
    with a hit become present, its other codes stay unknown, and a variable
    with known code labels, or not coded, is left as it was."""
    texts = ["A gas pipeline and a helicopter.", "Trade talks went on.", "A gas deal.", "Rain fell."]
    units = [
        Labelled("t1", "T", "p1", texts[0], frozenset({"economic"}), code_labels({"economic"}, None, codebook)),
        Labelled("t2", "T", "p2", texts[1], frozenset({"economic", "strategic"}),
                 code_labels({"economic", "strategic"}, None, codebook)),
        Labelled("t3", "T", "p3", texts[2], frozenset({"economic"}), code_labels({"economic"}, {"trade"}, codebook)),
        Labelled("t4", "T", "p4", texts[3], frozenset(), code_labels(set(), None, codebook)),
    ]
    before = [dict(u.codes) for u in units]
    d = design(Extractor(codebook), texts)
    assert weak_code_labels(d, units, codebook) == 2
    # energy from its hit; trade unknown; defence has a hit but strategic was not coded: still absent
    assert units[0].codes == {**before[0], "energy": 1} and "trade" not in units[0].codes
    assert units[0].weak == ("energy",) and units[2].weak == ()
    assert before[0]["defence"] == 0 == units[0].codes["defence"]
    # strategic coded but none of its codes hit: nothing guessed for it
    assert units[1].codes == {**before[1], "trade": 1} and "defence" not in units[1].codes
    assert units[2].codes == before[2] and units[3].codes == before[3]  # codes known, or nothing coded


@pytest.mark.parametrize("rule, expected", [("hits", [{"energy", "trade"}, {"energy"}]),
                                            ("single", [set(), {"energy"}]),
                                            ("none", [set(), set()])])
def test_the_weak_label_rule_says_which_hits_name_a_code(codebook, rule, expected):
    """"single" labels a code only when it is the one code of the coded
    variable with a hit: two hits leave both unknown; "none" labels nothing."""
    texts = ["Trade talks on a gas pipeline.", "A gas pipeline."]
    units = [Labelled(f"t{i}", "T", f"p{i}", t, frozenset({"economic"}), code_labels({"economic"}, None, codebook))
             for i, t in enumerate(texts)]
    d = design(Extractor(codebook), texts)
    assert weak_code_labels(d, units, codebook, rule) == sum(map(len, expected))
    assert [set(u.weak) for u in units] == expected
    assert [{c for c, y in u.codes.items() if y} for u in units] == expected
    assert all("trade" not in u.codes for u, e in zip(units, expected) if "trade" not in e)
    with pytest.raises(ValueError, match="weak label rule"):
        weak_code_labels(d, units, codebook, "some")


def test_codes_readers_named_settle_a_coded_variable_only(codebook):
    """Named codes of a variable the people coded become its labels (the
    others absent); a named code of a variable they did not code, a variable
    with code labels already, and a variable of which nothing was named stay
    as they were."""
    units = [Labelled("t1", "T", "p1", "x", frozenset({"economic", "strategic"}),
                      code_labels({"economic", "strategic"}, None, codebook)),
             Labelled("t2", "T", "p2", "x", frozenset({"economic"}), code_labels({"economic"}, {"trade"}, codebook)),
             Labelled("t3", "T", "p3", "x", frozenset({"economic"}), code_labels({"economic"}, None, codebook))]
    before = [dict(u.codes) for u in units]
    named = {"t1": {"energy", "militancy"}, "t2": {"energy"}, "t9": {"trade"}}
    assert name_codes(units, named, codebook) == 1
    economic = [c.id for c in codebook.codes if c.variable == "economic"]
    assert {c: units[0].codes[c] for c in economic} == {c: int(c == "energy") for c in economic}
    assert units[0].codes["militancy"] == 0  # regional security was not coded: absent still
    assert not any(c.id in units[0].codes for c in codebook.codes if c.variable == "strategic")
    assert units[1].codes == before[1] and units[2].codes == before[2]


def test_multiple_instance_training_finds_the_mention_not_the_word(codebook, trained):
    """Trained on unit labels only, the coder tells a gas deal from a gas
    stove in units it has not seen, and names the sentence that carried it."""
    _, _, _, model = trained
    coder = MentionCoder(model, codebook)
    assert isinstance(coder, Coder)
    test = invented(80, 7, codebook)
    units = [Unit(u.id, "d", 0, "paragraph", 100, 100 + len(u.text), u.text) for u in test]
    got = {c.unit_id for c in coder.code(units) if c.code == "energy"}
    truth = {u.id for u in test if u.codes["energy"]}
    kitchen = {u.id for u in test if "gas" in u.text and not u.codes["energy"]}
    assert kitchen and len(got & truth) >= 0.9 * len(truth) and len(got & kitchen) <= 0.1 * len(kitchen)
    for c in coder.code(units):
        mention = c.evidence[0]
        assert mention.pattern == f"mention:{c.code}" and mention.weight == pytest.approx(c.probability, abs=1e-4)
        assert c.variable == codebook.code(c.code).variable
        unit = next(u for u in units if u.id == c.unit_id)
        assert unit.text[mention.start - 100:mention.end - 100] == mention.term
        assert all(unit.start <= e.start < e.end <= unit.end for e in c.evidence)


def test_a_fixed_clause_is_the_positive_instance(codebook):
    """A reader's clause fixes the positive sentence: without it, the
    dictionary hit would be taken as the first positive."""
    units = invented(60, 3, codebook, "A")
    d = design(Extractor(codebook), [u.text for u in units])
    i = next(k for k, u in enumerate(units) if u.codes["energy"])
    from coding.coders.mention_training import _seed_rows

    clause = units[i].text[d.candidates[i].spans[-1][0]:d.candidates[i].spans[-1][1]][:12]
    rows, fixed = _seed_rows(d, i, "energy", [clause], units[i].text)
    assert fixed and rows == [int(d.offsets[i]) + len(d.candidates[i].spans) - 1]
    rows, fixed = _seed_rows(d, i, "energy", [], units[i].text)
    assert not fixed and all(d.candidates[i].hits["energy"][0][3] + d.offsets[i] == r for r in rows[:1])
    mask = np.ones(d.X.shape[1], dtype=bool)
    w, b = fit_code(d, units, np.arange(len(units)), "energy", 1.0, mask, 2)
    assert w[d.columns.index("hit:energy")] > 0


def test_calibration_and_thresholds():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=2000)
    y = (rng.random(2000) < 1 / (1 + np.exp(-2 * scores))).astype(int)
    a, c = platt(scores, y)
    assert a == pytest.approx(2.0, abs=0.3) and c == pytest.approx(0.0, abs=0.2)
    p = 1 / (1 + np.exp(-(a * scores + c)))
    assert expected_calibration_error(p, y) < 0.03
    assert expected_calibration_error(np.clip(p + 0.3, 0, 1), y) > 0.2
    thr, alpha = best_threshold(np.array([0.1, 0.2, 0.7, 0.9]), np.array([0, 0, 1, 1]))
    assert alpha == 1.0 and 0.2 < thr <= 0.7


def test_settings_chosen_inside_the_training_data(codebook, trained):
    units, d, fitted, _ = trained
    folds = inner_folds(units, np.arange(len(units)))
    assert len(folds) == 3  # one per collection
    for tr, te in folds:
        assert not {units[i].collection for i in tr} & {units[i].collection for i in te}
    two = np.array([i for i, u in enumerate(units) if u.collection != "C"])
    for tr, te in inner_folds(units, two):  # two collections: folds by page
        assert not {units[i].group for i in tr} & {units[i].group for i in te}
    assert set(fitted.chosen) == {c.id for c in codebook.codes}
    assert all(v["option"] == "dictionary" or v["option"][0] in (0.3, 1.0) for v in fitted.chosen.values())


def test_a_collection_that_only_trains_is_never_held_out_inside(codebook):
    """``fit_only`` collections stay on the training side of every inner
    fold; with too few others to hold out, the folds go by page."""
    units = invented(80, 0, codebook, "ABCD")
    for u in units:
        u.group = u.id  # a page per unit: no unit leaves training for sharing a page
    idx = np.arange(len(units))
    folds = inner_folds(units, idx, fit_only=("D",))
    assert [units[te[0]].collection for _, te in folds] == ["A", "B", "C"]
    assert all({units[i].collection for i in tr} == set("ABCD") - {units[te[0]].collection} for tr, te in folds)
    by_page = inner_folds(units, idx, fit_only=("C", "D"))
    assert len(by_page) == 3 and {units[i].collection for _, te in by_page for i in te} == set("ABCD")


def test_protocol_splits_never_share_a_page(codebook):
    """Collections are the outer folds; a unit of another collection on a
    page of the held-out one is left out of training."""
    units = invented(60, 5, codebook)  # pages of two units, collections in turn: pages straddle them
    splits = collection_folds(units, np.arange(len(units)))
    assert [units[te[0]].collection for _, te in splits] == ["A", "B", "C"]
    for train, test in splits:
        assert {units[i].collection for i in test} == {units[test[0]].collection}
        assert not {units[i].group for i in train} & {units[i].group for i in test}
        assert not set(train) & set(test) and len(train) > 0
    dropped = sum(len(units) - len(tr) - len(te) for tr, te in splits)
    assert dropped > 0  # the straddling pages were really removed


def test_headings_and_other_languages(codebook, trained):
    _, _, _, model = trained
    coder = MentionCoder(model, codebook)
    assert coder.decide("Защита трубопроводов и газовые поставки в регионе обсуждались долго") == []
    assert coder.not_english == 1
    assert not is_english("Ceci est une phrase en français sur le commerce et les routes de la région")
    assert is_english("The ministry signed a gas contract with the utility of the region.")
    assert is_english("Gas")
    # a one-line text with no hit of a code gets no coding of it, whatever the model says
    coder._thr[:] = 0.0
    coded = {code for _, code, _, _ in coder.decide("Officials agreed on supplies")}
    assert coded == set()
    assert {code for _, code, _, _ in coder.decide("Gas supplies agreed")} == {"energy"}


def test_min_probability_and_predict_agree(codebook, trained):
    units, d, fitted, model = trained
    loose = MentionCoder(model, codebook)
    probs, accepted = predict(loose, d, np.arange(len(units)))
    assert probs.shape == accepted.shape == (len(units), len(model.codes))
    floor = float(np.median(probs[accepted == 1]))
    strict = predict(MentionCoder(model, codebook, min_probability=floor), d, np.arange(len(units)))[1]
    assert 0 < strict.sum() < accepted.sum()
    assert (strict == (accepted & (probs >= floor))).all()
    k = model.codes.index("energy")
    assert all(bool(accepted[i, k]) == any(c == "energy" for _, c, _, _ in loose.decide(u.text))
               for i, u in enumerate(units))


def test_model_file_round_trip_is_deterministic_and_checked(codebook, trained, tmp_path):
    _, _, _, model = trained
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    save_model(model, a)
    save_model(model, b)
    assert a.read_bytes() == b.read_bytes()
    back = load_model(a)
    assert back.codes == model.codes and back.vocabulary == model.vocabulary
    text = "A new gas pipeline will feed power plants across Quell."
    assert MentionCoder(back, codebook).decide(text) == MentionCoder(load_model(b), codebook).decide(text)
    raw = bytearray(a.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (tmp_path / "bad.npz").write_bytes(bytes(raw))
    with pytest.raises(CodingError):
        load_model(tmp_path / "bad.npz")
    with pytest.raises(CodingError, match="no model file"):
        load_model(tmp_path / "none.npz")


@pytest.fixture(scope="module")
def model_file(codebook, tmp_path_factory):
    """A model made by hand: a hit of energy scores 2 (probability .881), of
    defence 0.5 (.622), of militancy 1 (.731); "cook" takes 4 off energy."""
    from coding.coders.mentions import MentionModel

    codes = tuple(c.id for c in codebook.codes)
    vocab = ("hit:energy", "hit:defence", "hit:militancy", "u:cook")
    W = np.zeros((len(vocab), len(codes)))
    W[0, codes.index("energy")], W[1, codes.index("defence")], W[2, codes.index("militancy")] = 4.0, 2.5, 3.0
    W[3, codes.index("energy")] = -4.0
    n = len(codes)
    model = MentionModel(codebook.version, codes, vocab, W, np.full(n, -2.0), np.ones(n), np.zeros(n),
                         np.full(n, 0.5), {}, {})
    path = tmp_path_factory.mktemp("model") / "mentions.npz"
    save_model(model, path)
    return path


def _project(root, codebook_text):
    """A corpus of two documents of invented paragraphs, its codebook, and the out folder."""
    from conftest import write_corpus

    docs = {"a": ("Doc A", "news", "2020", "A new gas pipeline will feed power plants across Quell.\n\n"
                  "The cook in Miren lowered the gas under the soup.\n\nRain fell over Sela on the weekend.\n"),
            "b": ("Doc B", "news", "2021", "Militants attacked a checkpoint outside Oruk.\n\n"
                  "Pilots from Tallis flew helicopters in a joint exercise.\n")}
    corpus = write_corpus(root, docs)
    (root / "codebook.yaml").write_text(codebook_text, encoding="utf-8")
    return corpus, root / "codebook.yaml", root / "out"


def test_code_command_writes_probabilities_and_min_probability_trades_recall(model_file, tmp_path, capsys):
    import csv

    from coding.cli import main

    corpus, cb, _ = _project(tmp_path, CODEBOOK)
    base = ["code", str(corpus / "docs"), "--codebook", str(cb), "--coder", "mentions", "--model", str(model_file)]
    assert main([*base, "--out", str(tmp_path / "all.csv")]) == 0
    rows = list(csv.DictReader(open(tmp_path / "all.csv", encoding="utf-8")))
    assert list(rows[0]) == ["unit_id", "variable", "code", "evidence", "probability"]
    coded = [r for r in rows if r["code"]]
    assert {r["code"] for r in coded} == {"energy", "militancy", "defence"}
    assert all(0 < float(r["probability"]) <= 1 for r in coded)
    assert all(r["probability"] == "" for r in rows if not r["code"])
    assert not any("cook" in r["evidence"] for r in coded)  # the kitchen's gas is no mention of energy
    assert {r["code"]: r["probability"] for r in coded} == {"energy": "0.8808", "defence": "0.6225",
                                                              "militancy": "0.7311"}
    assert main([*base, "--out", str(tmp_path / "sure.csv"), "--min-probability", "0.7"]) == 0
    sure = [r for r in csv.DictReader(open(tmp_path / "sure.csv", encoding="utf-8")) if r["code"]]
    assert {r["code"] for r in sure} == {"energy", "militancy"}
    assert main(["code", str(corpus / "docs"), "--codebook", str(cb), "--out", str(tmp_path / "x.csv"),
                 "--min-probability", "0.5"]) != 0
    assert "--min-probability is for the mention coder" in capsys.readouterr().err


def test_run_keeps_each_codings_probability_in_the_store(model_file, tmp_path):
    from coding.cli import main
    from coding.store import SCHEMA_VERSION, Store

    corpus, cb, out = _project(tmp_path, CODEBOOK)
    assert main(["run", "--corpus", str(corpus), "--codebook", str(cb), "--out", str(out), "--no-report",
                 "--coder", "mentions", "--model", str(model_file)]) == 0
    with Store(out / "project.sqlite") as store:
        probs = store.coding_probabilities("mentions")
        auto = store.coding_probabilities("auto")
        version = store.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
    assert version == str(SCHEMA_VERSION)
    assert probs and all(p is not None and 0 < p <= 1 for p in probs.values())
    assert {c for _, _, c in probs} == {"energy", "militancy", "defence"}
    assert not auto or all(p is None for p in auto.values())


def test_an_older_store_gets_the_probability_column(tmp_path):
    import sqlite3

    from coding.store import Store

    with Store(tmp_path / "p.sqlite"):
        pass
    db = sqlite3.connect(tmp_path / "p.sqlite")
    db.executescript("ALTER TABLE codings DROP COLUMN probability; "
                     "UPDATE meta SET value='2' WHERE key='schema_version';")
    db.close()
    with Store(tmp_path / "p.sqlite") as store:
        cols = [r[1] for r in store.db.execute("PRAGMA table_info(codings)")]
    assert cols[-1] == "probability"


def test_code_command_counts_units_not_in_english(model_file, tmp_path, capsys):
    from coding.cli import main

    corpus, cb, _ = _project(tmp_path, CODEBOOK)
    (corpus / "docs" / "a.txt").write_text("A new gas pipeline will feed power plants across Quell.\n\n"
                                           "Газопровод и поставки газа обсуждались на встрече министров.\n",
                                           encoding="utf-8")
    assert main(["code", str(corpus / "docs"), "--codebook", str(cb), "--coder", "mentions", "--model",
                 str(model_file), "--out", str(tmp_path / "o.csv")]) == 0
    assert "1 unit(s) not in English: not coded" in capsys.readouterr().out


def test_units_not_in_english_are_counted_by_worker_processes_too(model_file, tmp_path):
    from coding.coders.coder_choice import make_coder
    from coding.jobs.code_paths import code_paths

    corpus, cb, _ = _project(tmp_path, CODEBOOK)
    for name in ("a", "b"):  # two files: with --jobs 2 each worker codes one, with its own copy of the coder
        (corpus / "docs" / f"{name}.txt").write_text(
            "A new gas pipeline will feed power plants across Quell.\n\n"
            "Газопровод и поставки газа обсуждались на встрече министров.\n", encoding="utf-8")
    for jobs in (1, 2):
        coder, _ = make_coder("mentions", cb, model=model_file)
        counts = code_paths([corpus / "docs"], tmp_path / f"o{jobs}.csv", codebook=cb, jobs=jobs, coder=coder,
                            progress=False)
        assert counts["not_english"] == 2, jobs


def test_run_counts_units_not_in_english(model_file, tmp_path, capsys):
    from coding.cli import main

    corpus, cb, out = _project(tmp_path, CODEBOOK)
    (corpus / "docs" / "b.txt").write_text("Militants attacked a checkpoint outside Oruk.\n\n"
                                           "Боевики атаковали блокпост и газопровод на границе ночью.\n\n"
                                           "Газопровод и поставки газа обсуждались на встрече министров.\n",
                                           encoding="utf-8")
    args = ["run", "--corpus", str(corpus), "--codebook", str(cb), "--out", str(out), "--no-report",
            "--coder", "mentions", "--model", str(model_file)]
    assert main(args) == 0
    assert "2 unit(s) not in English: not coded" in capsys.readouterr().out
    assert main(args) == 0  # nothing coded again: nothing to say
    assert "not in English" not in capsys.readouterr().out


def test_options_are_revised_for_the_variables_alpha(codebook):
    """A code whose model adds false positives to its variable (which the
    sibling code already covers) falls back to the dictionary's decision."""
    from coding.coders.mention_training import _by_variable

    n = 8
    units = [Labelled(f"u{i}", "A", f"p{i}", "", frozenset({"economic"} if i < 4 else ()), {}) for i in range(n)]
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0], dtype=bool)
    model_energy = np.array([1, 1, 0, 0, 0, 0, 1, 0], dtype=bool)  # one false positive
    dict_energy = np.array([1, 1, 0, 0, 0, 0, 0, 0], dtype=bool)
    per = {("energy", (1.0, 1.0)): (0.9, 1, 0, 0.5, model_energy),
           ("energy", "dictionary"): (0.88, 1, 0, 0.5, dict_energy),
           ("trade", (1.0, 1.0)): (0.9, 1, 0, 0.5, y.copy()), ("trade", "dictionary"): (0.5, 1, 0, 0.5, y.copy())}
    options = [(1.0, 1.0), "dictionary"]
    pick = {"energy": (1.0, 1.0), "trade": (1.0, 1.0)}
    got = _by_variable(units, np.arange(n), ["energy", "trade"], options, per, pick,
                       {"energy": "economic", "trade": "economic"})
    assert got == {"energy": "dictionary", "trade": (1.0, 1.0)}
    # codes first: an option far worse for the code itself is not taken, whatever the variable gains
    per["energy", "dictionary"] = (0.6, 1, 0, 0.5, dict_energy)
    assert _by_variable(units, np.arange(n), ["energy", "trade"], options, per, pick,
                        {"energy": "economic", "trade": "economic"})["energy"] == (1.0, 1.0)


def test_a_variable_keeps_its_learnt_codes_only_when_clearly_better_than_the_dictionary():
    """Two standard errors: a learnt variable ahead of the dictionary by one
    or two false positives fewer in 40 pages (gains of .059 and .115 against
    standard errors of .063 and .079: under one, and between one and two)
    falls back to it; one nine false positives ahead (.477 against .148) keeps
    its options."""
    from coding.coders.mention_training import _dictionary_unless_better

    n = 40
    y = np.arange(n) % 2 == 0
    units = [Labelled(f"u{i}", "A", f"p{i}", "", frozenset({"economic"} if y[i] else ()), {}) for i in range(n)]
    plain = y.copy()
    plain[1:20:2] = True  # the dictionary: ten false positives
    variable_of = {"energy": "economic"}
    for fewer, kept in ((1, False), (2, False), (9, True)):
        learnt = plain.copy()
        learnt[1:1 + 2 * fewer:2] = False
        per = {("energy", (1.0, 1.0)): (0.0, 1, 0, 0.5, learnt), ("energy", "dictionary"): (0.0, 1, 0, 0.5, plain)}
        got, margins = _dictionary_unless_better(units, np.arange(n), ["energy"], per, {"energy": (1.0, 1.0)},
                                                 variable_of)
        assert got == {"energy": (1.0, 1.0) if kept else "dictionary"}, fewer
        assert (margins["economic"] > 2) == kept and margins["economic"] > 0.9, fewer


def test_an_option_reading_the_hits_only_learns_to_tell_its_hits_apart(codebook, trained):
    """The hits-only option is trained on the sentences with the code's hit
    and scores every other sentence far below any threshold; among the hits
    it tells a gas deal from a gas stove. The options offered are both
    readings and the dictionary."""
    from coding.coders.mention_training import (
        DEFAULTS,
        HITS_ONLY_SHIFT,
        _fit_all,
        _hit_rows,
        _options,
        _seeds_among,
    )

    units, d, _, _ = trained
    assert _options({**DEFAULTS, "C_grid": (1.0,)}) == [(1.0, 1.0), (1.0, 1.0, "hits"), "dictionary"]
    assert _options({**DEFAULTS, "C_grid": (1.0,), "candidates": ("hits",)}) == [(1.0, 1.0, "hits"), "dictionary"]
    W, b, _ = _fit_all(d, units, np.arange(len(units)), ["energy"], {"energy": (1.0, 1.0, "hits")}, DEFAULTS)
    s = (d.X @ W + b)[:, 0]
    hit = _hit_rows(d, "energy")
    assert hit.any() and (~hit).any() and s[~hit].max() < -HITS_ONLY_SHIFT / 2
    unit_of = np.repeat(np.arange(len(units)), np.diff(d.offsets))
    deal = np.array([units[i].codes["energy"] == 1 for i in unit_of])
    assert s[hit & deal].min() > s[hit & ~deal].max()  # kitchen gas below every gas deal
    # seeds keep to the hits: a clause elsewhere gives way to the unit's hits; a unit without one drops out
    with_hit = next(i for i in range(len(units)) if hit[d.offsets[i]:d.offsets[i + 1]].any()
                    and not hit[d.offsets[i]:d.offsets[i + 1]].all())
    without = next(i for i in range(len(units)) if not hit[d.offsets[i]:d.offsets[i + 1]].any())
    elsewhere = [r for r in range(d.offsets[with_hit], d.offsets[with_hit + 1]) if not hit[r]]
    got = _seeds_among({with_hit: (elsewhere, True), without: ([int(d.offsets[without])], False)}, hit, d,
                       [with_hit, without])
    assert got == {with_hit: ([r for r in range(d.offsets[with_hit], d.offsets[with_hit + 1]) if hit[r]], False)}


def test_an_option_may_learn_from_the_example_collections_too(codebook, trained):
    """With ``example_collections`` every learnt option comes twice: tagged,
    it also learns from those collections' units; untagged, it leaves them
    out, as if they were not there (the columns come from the others either
    way). Without the setting nothing is left out."""
    from coding.coders.mention_training import DEFAULTS, EXAMPLES, _fit_all, _options, _without_examples

    units, d, _, _ = trained
    settings = {**DEFAULTS, "C_grid": (1.0,), "example_collections": ("C",)}
    assert _options(settings) == [(1.0, 1.0), (1.0, 1.0, "hits"), (1.0, 1.0, EXAMPLES), (1.0, 1.0, "hits", EXAMPLES),
                                  "dictionary"]
    train = np.arange(len(units))
    assert [units[i].collection for i in _without_examples(units, train, settings)].count("C") == 0
    assert len(_without_examples(units, train, DEFAULTS)) == len(units)
    rest = np.array([i for i in train if units[i].collection != "C"])
    without_c, _, _ = _fit_all(d, units, rest, ["energy"], {"energy": (1.0, 1.0)}, DEFAULTS)
    tagged, _, _ = _fit_all(d, units, train, ["energy"], {"energy": (1.0, 1.0, EXAMPLES)}, settings)
    untagged, _, _ = _fit_all(d, units, train, ["energy"], {"energy": (1.0, 1.0)}, settings)
    assert np.allclose(untagged, without_c) and not np.allclose(tagged, untagged)


def test_the_mean_option_averages_the_learnt_options(codebook, trained):
    """With ``mean_option`` a code may also take the mean of its learnt
    options: their weights and intercepts averaged (the hits-only shift
    included), in training and in the inner out-of-fold scores alike."""
    from coding.coders.mention_training import DEFAULTS, MEAN, _fit_all, _options, _out_of_fold

    units, d, _, _ = trained
    settings = {**DEFAULTS, "C_grid": (0.3, 1.0), "mean_option": True}
    options = _options(settings)
    assert options == [(0.3, 1.0), (1.0, 1.0), (0.3, 1.0, "hits"), (1.0, 1.0, "hits"), MEAN, "dictionary"]
    assert MEAN not in _options({**settings, "mean_option": False})
    train = np.arange(len(units))
    codes = ["energy", "defence"]
    fits = [_fit_all(d, units, train, codes, dict.fromkeys(codes, o), settings) for o in options[:4]]
    W, b, _ = _fit_all(d, units, train, codes, dict.fromkeys(codes, MEAN), settings)
    assert np.allclose(W, np.mean([f[0] for f in fits], axis=0))
    assert np.allclose(b, np.mean([f[1] for f in fits], axis=0))
    assert not np.allclose(W, fits[0][0])
    half = train[train % 2 == 0], train[train % 2 == 1]
    oof = _out_of_fold(d, units, [half, half[::-1]], codes, options, settings)
    for tr, te in (half, half[::-1]):
        Wf, bf, _ = _fit_all(d, units, tr, codes, dict.fromkeys(codes, MEAN), settings)
        assert np.allclose(oof[MEAN][te], best_scores(d, te, Wf, bf))


def test_the_codebooks_examples_become_units_that_name_one_code():
    """An example says its code is there, a counterexample that it is not;
    neither says anything of the other codes. Each is a page of its own."""
    from coding.coders.mention_labels import EXAMPLES_COLLECTION, codebook_units

    text = CODEBOOK.replace("    patterns: [gas, pipeline]\n", "    patterns: [gas, pipeline]\n"
                            "    examples: [A gas pipeline was agreed.]\n"
                            "    counterexamples: [The cook lit the gas., Gas prices were on the menu.]\n")
    units = codebook_units(parse_codebook(text, "with-examples.yaml"))
    assert [(u.text, u.codes, u.variables) for u in units] == [
        ("A gas pipeline was agreed.", {"energy": 1}, frozenset({"economic"})),
        ("The cook lit the gas.", {"energy": 0}, frozenset()),
        ("Gas prices were on the menu.", {"energy": 0}, frozenset())]
    assert {u.collection for u in units} == {EXAMPLES_COLLECTION} and len({u.group for u in units}) == 3


def test_the_margin_over_the_dictionary_is_chosen_on_held_out_collections(codebook, trained, monkeypatch):
    """Each margin's model is judged on the collection held out of its
    training, pooled; the best wins per variable and ties go to the larger
    margin. One candidate needs no folds."""
    import coding.coders.mention_training as mt

    units, d, _, _ = trained
    codes = ["energy", "trade", "defence", "militancy"]
    variable_of = {c.id: c.variable for c in codebook.codes}
    settings = {**mt.DEFAULTS, "se_margins": (0.0, 1.0, 2.0)}
    assert mt.choose_se_margins(d, units, np.arange(len(units)), codes, {**settings, "se_margins": (3.0,)},
                                variable_of) == dict.fromkeys(["economic", "regional_security", "strategic"], 3.0)
    monkeypatch.setattr(mt, "_inner_choices", lambda *a: (np.arange(3), {}, {}))
    # the pick names the margin it was made under: its decisions say how that margin fares
    monkeypatch.setattr(mt, "_dictionary_unless_better",
                        lambda units, tested, codes, per, pick, variable_of, m: (dict.fromkeys(codes, m), {}))
    seen = []

    def decisions(d, units, train, test, codes, settings, per, pick):
        seen.append((set(train) & set(test), pick["energy"]))
        m = pick["energy"]
        out = np.zeros((len(test), len(codes)), dtype=int)
        for r, i in enumerate(test):
            y = {v: int(v in units[i].variables) for v in ("economic", "strategic", "regional_security")}
            # economic: right at margins 0 and 1; strategic: right at 0 only; security: the same at all
            out[r, 0] = y["economic"] if m < 2 else 1 - y["economic"]
            out[r, 2] = y["strategic"] if m == 0 else 1 - y["strategic"]
            out[r, 3] = y["regional_security"]
        return out

    monkeypatch.setattr(mt, "_decisions", decisions)
    got = mt.choose_se_margins(d, units, np.arange(len(units)), codes, settings, variable_of)
    assert got == {"economic": 1.0, "strategic": 0.0, "regional_security": 2.0}
    assert len(seen) == 3 * 3 and not any(shared for shared, _ in seen)  # three folds, three margins, disjoint


def test_best_sentences_of_a_batch_are_each_units_first_argmax():
    """The whole batch's best sentences equal a unit-by-unit argmax, ties
    going to the first sentence (scores drawn from few values, so ties are common)."""
    from coding.coders.mentions import _best_sentences

    rng = np.random.default_rng(3)
    for _ in range(50):
        sizes = rng.integers(1, 5, rng.integers(1, 8))
        offsets = np.r_[0, np.cumsum(sizes)]
        s = rng.integers(0, 3, (offsets[-1], 4)).astype(float)
        top = np.maximum.reduceat(s, offsets[:-1], axis=0)
        expected = np.array([s[a:b].argmax(axis=0) for a, b in zip(offsets, offsets[1:])])
        assert (_best_sentences(s, offsets, top) == expected).all()


def test_suggest_ranks_by_the_mention_coders_code_level_uncertainty(model_file, tmp_path):
    """The unit whose best code lies nearest its threshold comes first."""
    import csv

    from coding.cli import main

    corpus, cb, out = _project(tmp_path, CODEBOOK)
    assert main(["run", "--corpus", str(corpus), "--codebook", str(cb), "--out", str(out), "--no-report"]) == 0
    assert main(["suggest", "--coder", "mentions", "--model", str(model_file), "--codebook", str(cb),
                 "--store", str(out / "project.sqlite"), "--n", "5", "--random", "0",
                 "--out", str(tmp_path / "next.csv")]) == 0
    rows = list(csv.DictReader(open(tmp_path / "next.csv", encoding="utf-8")))
    # by hand: defence .622 (margin .50), militancy .731 (1.00), energy .881 (2.00); the rest at .119 (2.00)
    assert [r["suggested"] for r in rows[:2]] == ["strategic", "regional_security"]
    assert float(rows[0]["uncertainty"]) == pytest.approx(0.5, abs=1e-3)
    assert list(rows[0])[:4] == ["unit_id", "economic", "strategic", "regional_security"]


def test_the_default_coder_is_the_mention_coder_where_its_model_fits_and_auto_keeps_its_name(tmp_path, capsys):
    """Under leave-one-collection-out the mention coder is never below the
    dictionary on a variable and ahead on strategic: it is the default with
    the codebook its shipped model was made for. Any other codebook (a
    study's own, an edited one) codes with the dictionary by default, and
    ``--coder auto`` is the dictionary coder whatever the codebook."""
    import csv
    from pathlib import Path

    from coding.cli import build_parser, main
    from coding.codebook import load_codebook
    from coding.coders.coder_choice import default_coder, default_coder_name

    for command in (["code", "x", "--out", "o.csv"], ["run"]):
        assert build_parser().parse_args(command).coder is None  # resolved from the codebook
    shipped = Path(__file__).resolve().parents[1] / "codebook.yaml"
    assert default_coder_name(load_codebook(shipped)) == "mentions"
    assert default_coder(load_codebook(shipped)).name == "mentions"
    corpus, cb, _ = _project(tmp_path, CODEBOOK)
    assert default_coder_name(load_codebook(cb)) == "auto"
    assert main(["code", str(corpus / "docs"), "--codebook", str(cb), "--out", str(tmp_path / "o.csv")]) == 0
    assert " codings by auto -> " in capsys.readouterr().out  # which coder coded is said
    rows = list(csv.DictReader(open(tmp_path / "o.csv", encoding="utf-8")))
    assert list(rows[0]) == ["unit_id", "variable", "code", "evidence"]  # no probability column
    assert {r["code"] for r in rows if r["code"]} == {"energy", "militancy", "defence"}
    # the dictionary's reading: the kitchen's gas is energy too
    assert ("a:p0002", "energy") in {(r["unit_id"], r["code"]) for r in rows}
    for coder, columns in ((None, ["unit_id", "variable", "code", "evidence", "probability"]),
                           ("auto", ["unit_id", "variable", "code", "evidence"])):
        out = tmp_path / f"{coder}.csv"
        chosen = ["--coder", coder] if coder else []
        assert main(["code", str(corpus / "docs"), "--codebook", str(shipped), "--out", str(out), *chosen]) == 0
        assert f" codings by {coder or 'mentions'} -> " in capsys.readouterr().out
        assert list(csv.DictReader(open(out, encoding="utf-8")).fieldnames or []) == columns


def test_the_shipped_model_codes_with_the_shipped_codebook():
    from pathlib import Path

    from coding.coders.coder_choice import make_coder
    from coding.records import MENTIONS

    repo = Path(__file__).resolve().parents[1]
    coder, cb = make_coder(MENTIONS, repo / "codebook.yaml")
    assert coder.name == "mentions" and coder.model.codebook_version == cb.version
    text = ("Officials of Pakistan and Russia said the gas pipeline deal would bring cheaper fuel to their "
            "factories. The weather was mild that week.")
    unit = Unit("u1", "d", 0, "paragraph", 0, len(text), text)
    got = {c.code: c for c in coder.code([unit])}
    assert "energy" in got and got["energy"].evidence[0].term.startswith("Officials of Pakistan and Russia")
    assert all(c.variable == cb.code(c.code).variable for c in got.values())
    # every setting was chosen inside its training data, the margin over the dictionary too
    from coding.coders.mention_training import DEFAULTS

    settings = coder.model.settings
    assert set(settings["se_margin_chosen"]) == set(cb.variable_ids)
    assert set(settings["se_margin_chosen"].values()) <= set(DEFAULTS["se_margins"])
    options = [v["option"] for v in settings["chosen"].values()]
    assert all(o == "dictionary" or (o[0] in DEFAULTS["C_grid"] and o[2:] in ([], ["hits"])) for o in options)
    # a unit without a token has no embedding: its similarities say nothing, its probabilities are numbers
    empty = Unit("u2", "d", 0, "paragraph", 0, 0, "")
    _, probs, _ = coder.code_probabilities([empty, unit])
    assert np.isfinite(probs).all() and coder.code([empty]) == []


def test_reports_and_checks_read_the_stores_default_coder():
    """With no coder named, a report or validation reads the default coder of
    the store's codebook when it coded there, else the automatic coder that
    did (the dictionary first), else the default."""
    from pathlib import Path

    from coding.codebook import load_codebook
    from coding.coders.coder_choice import stored_default

    shipped = load_codebook(Path(__file__).resolve().parents[1] / "codebook.yaml")
    other = parse_codebook(CODEBOOK, "invented.yaml")

    class Store:
        def __init__(self, codebook, coders):
            self._codebook, self._coders = codebook, coders

        def codebook(self):
            if self._codebook is None:
                raise CodingError("the store holds no coding yet")
            return self._codebook

        def coder_names(self):
            return self._coders

    assert stored_default(Store(shipped, ["auto", "human-1", "mentions"])) == "mentions"
    assert stored_default(Store(shipped, ["auto", "human-1"])) == "auto"  # a run with --coder auto only
    assert stored_default(Store(shipped, ["human-1", "learned"])) == "learned"
    assert stored_default(Store(shipped, ["human-1"])) == "mentions"
    assert stored_default(Store(other, ["auto", "mentions"])) == "auto"
    assert stored_default(Store(None, [])) == "auto"


def test_suggestions_come_from_the_default_coder_where_it_learns(tmp_path):
    """Without --coder, suggest ranks by the mention coder where its shipped
    model fits the codebook, else by the learned coder; a model file named
    alone is the learned coder's, as it always was."""
    from argparse import Namespace
    from pathlib import Path

    from coding.commands.learning import _suggesting_coder

    shipped = Path(__file__).resolve().parents[1] / "codebook.yaml"
    other = tmp_path / "invented.yaml"
    other.write_text(CODEBOOK, encoding="utf-8")
    assert _suggesting_coder(Namespace(model=None, codebook=str(shipped))) == "mentions"
    assert _suggesting_coder(Namespace(model=None, codebook=str(other))) == "learned"
    assert _suggesting_coder(Namespace(model="m.json", codebook=str(shipped))) == "learned"
    assert _suggesting_coder(Namespace(model=None, codebook=str(tmp_path / "missing.yaml"))) == "learned"


def test_a_models_codebook_version_is_read_from_its_metadata(tmp_path, trained):
    """What decides the default coder: the model file's codebook version, read
    without its weights; a file that is no model gives none."""
    from coding.coders.mentions import model_codebook_version

    *_, model = trained
    save_model(model, tmp_path / "m.npz")
    assert model_codebook_version(tmp_path / "m.npz") == model.codebook_version != ""
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    assert model_codebook_version(tmp_path / "bad.npz") == model_codebook_version(tmp_path / "none.npz") == ""


def test_similarity_to_the_codes_is_read_alike_in_training_and_coding(codebook):
    """A model trained with the sentences' similarity to each code's text
    keeps their scale and the embedder's version; the coder's batches
    score as the training's candidates do; a model made with another
    version of the embedder, or scored without the similarities, is refused."""
    from dataclasses import replace

    from coding.coders.embedding import embedder_version
    from coding.coders.mention_meaning import Meaning

    codes = [c.id for c in codebook.codes]
    meaning = Meaning(codebook, codes)
    raw = meaning.raw(["A gas pipeline will feed the power plants.", "Militants attacked a checkpoint."])
    assert raw.shape == (2, len(codes))
    assert raw[0, codes.index("energy")] > raw[0, codes.index("militancy")]
    assert raw[1, codes.index("militancy")] > raw[1, codes.index("energy")]
    with pytest.raises(CodingError, match="no scale"):
        meaning.standardised(raw)

    units = invented(90, 5, codebook)
    d = design(Extractor(codebook), [u.text for u in units], meaning)
    assert d.raw.shape == (d.X.shape[0], 2 * len(codes))  # the sentences' similarities, then their units'
    fitted = fit(d, units, np.arange(len(units)), codes, {"C_grid": (1.0,), "rounds": 1})
    model = to_model(d, fitted, codebook, {})
    kept = model.settings["meaning"]
    assert kept["codes"] == codes and kept["embedder"] == f"wordllama {embedder_version()}"
    assert "unit" not in kept and not any(c.startswith("usim:") for c in model.vocabulary)
    assert np.allclose(kept["mean"], d.raw[:, :len(codes)].mean(axis=0))
    assert any(c.startswith("sim:") for c in model.vocabulary)  # the similarities carry weight
    coder = MentionCoder(model, codebook)
    test = invented(40, 11, codebook)
    dt = design(Extractor(codebook), [u.text for u in test], meaning)
    p, _ = predict(coder, dt, np.arange(len(test)))
    _, batched, _ = coder.code_probabilities([Unit(u.id, "d", 0, "paragraph", 0, len(u.text), u.text) for u in test])
    assert np.allclose(p, batched)
    with pytest.raises(CodingError, match="similarities"):
        coder.scores(dt.candidates[0])
    other = replace(model, settings={**model.settings, "meaning": {**kept, "embedder": "wordllama 0.0"}})
    with pytest.raises(CodingError, match="trained with wordllama 0.0"):
        MentionCoder(other, codebook)


def test_codes_may_choose_to_read_their_units_similarity(codebook):
    """With ``meaning_grid`` a code's options read the sentences'
    similarities, none, or their units' too; a model whose codes chose the
    units' keeps that and its coder's batches score as the training's
    candidates do; a reading the grid does not know is refused."""
    from coding.coders.mention_meaning import Meaning
    from coding.coders.mention_training import DEFAULTS, _options

    codes = [c.id for c in codebook.codes]
    assert _options({**DEFAULTS, "C_grid": (1.0,), "meaning_grid": ("words", "unit")}) == [
        (1.0, 1.0, "words"), (1.0, 1.0, "hits", "words"), (1.0, 1.0, "unit"), (1.0, 1.0, "hits", "unit"), "dictionary"]
    with pytest.raises(ValueError, match="meaning_grid: 'whole'"):
        _options({**DEFAULTS, "meaning_grid": ("whole",)})
    units = invented(90, 5, codebook)
    d = design(Extractor(codebook), [u.text for u in units], Meaning(codebook, codes))
    settings = {"C_grid": (1.0,), "rounds": 1, "meaning_grid": ("unit",)}
    model = to_model(d, fit(d, units, np.arange(len(units)), codes, settings), codebook, {}, settings)
    assert model.settings["meaning"]["unit"] is True and len(model.settings["meaning"]["mean"]) == 2 * len(codes)
    assert any(c.startswith("usim:") for c in model.vocabulary)
    coder = MentionCoder(model, codebook)
    test = invented(40, 11, codebook)
    dt = design(Extractor(codebook), [u.text for u in test], Meaning(codebook, codes))
    p, _ = predict(coder, dt, np.arange(len(test)))
    _, batched, _ = coder.code_probabilities([Unit(u.id, "d", 0, "paragraph", 0, len(u.text), u.text) for u in test])
    assert np.allclose(p, batched)
    words = to_model(d, fit(d, units, np.arange(len(units)), codes, {**settings, "meaning_grid": ("words",)}),
                     codebook, {})
    assert not any(c.startswith(("sim:", "usim:")) for c in words.vocabulary)


def test_the_shipped_coder_loads_its_embedder_without_the_network(tmp_path):
    """The similarity features' embedder comes from its package's own files:
    in a fresh process whose every connection fails, the shipped coder still codes."""
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "offline.py"
    script.write_text(
        "import socket, sys\n"
        "def refuse(*a, **k):\n"
        "    raise OSError('no network here')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from coding.coders.coder_choice import make_coder\n"
        "from coding.records import Unit\n"
        "coder, _ = make_coder('mentions', sys.argv[1])\n"
        "t = 'Pakistan and Russia signed a gas pipeline agreement in Moscow.'\n"
        "print(sorted(c.code for c in coder.code([Unit('u', 'd', 0, 'paragraph', 0, len(t), t)])))\n")
    codebook = Path(__file__).resolve().parents[1] / "codebook.yaml"
    done = subprocess.run([sys.executable, str(script), str(codebook)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "energy" in done.stdout
