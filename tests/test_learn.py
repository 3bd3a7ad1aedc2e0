"""The learned coder: deterministic model files, safe loading, evidence on
every coding, grouped cross-validation, and a context rule that a
dictionary cannot express. Every text here is invented for the tests."""

from __future__ import annotations

import json
import random

import pytest

from coding.agreement.coefficients import krippendorff_alpha
from coding.codebook import parse_codebook
from coding.coders.dictionary import DictionaryCoder
from coding.coders.learn import (
    Features,
    LearnedCoder,
    cross_validate,
    grouped_folds,
    load_model,
    model_probabilities,
    save_model,
    train,
)
from coding.errors import CodingError
from coding.records import Coder, Unit

CODEBOOK = """
name: invented
description: a codebook for the learned coder's tests
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
    patterns: [joint exercise, helicopter, defence pact]
    context_patterns: [envoy]
  - id: militancy
    label: Militancy
    variable: regional_security
    patterns: [militant, insurgent]
"""

# Invented sentence templates. "gas" occurs in energy deals (economic) and in
# kitchens (not economic): only the context tells them apart.
ECONOMIC = ["The ministry of {place} signed a gas {deal} with the state utility.",
            "A new gas {deal} will feed power plants across {place}.",
            "Exports through the {place} pipeline doubled after the {deal}.",
            "Traders in {place} expect the trade {deal} to lift revenue."]
KITCHEN = ["The {cook} lowered the gas under the {dish} in {place}.",
           "On a small gas flame the {cook} simmered the {dish}.",
           "The {cook} in {place} lit the gas stove for the {dish}."]
STRATEGIC = ["Pilots from {place} flew helicopters in a joint exercise.",
             "The defence pact gives {place} access to training ranges.",
             "An envoy from {place} attended the joint exercise."]
SECURITY = ["Militants attacked a checkpoint outside {place}.",
            "Insurgents crossed the hills near {place} at night."]
FILLER = ["Rain fell over {place} on the weekend.", "The museum of {place} reopened its doors.",
          "Schoolchildren in {place} planted trees.", "A festival of {place} drew large crowds."]
SLOTS = {"place": ["Vantor", "Quell", "Ostrava Nova", "Miren", "Tallis", "Brezno", "Oruk", "Sela"],
         "deal": ["contract", "agreement", "deal", "accord"],
         "cook": ["chef", "baker", "cook", "grandmother"],
         "dish": ["soup", "lentils", "stew", "rice pudding"]}


def sentence(rng: random.Random, templates: list[str]) -> str:
    template = rng.choice(templates)
    return template.format(**{k: rng.choice(v) for k, v in SLOTS.items()})


def invented(n: int, seed: int, prefix: str, start: int = 0):
    """(units, labels, groups): each unit mixes sentences of random
    variables, kitchen sentences (with "gas", not economic) and filler."""
    rng = random.Random(seed)
    units, labels, groups = [], {}, {}
    for i in range(n):
        parts, items = [], set()
        if rng.random() < 0.4:
            parts.append(sentence(rng, ECONOMIC))
            items.add("economic")
        elif rng.random() < 0.6:
            parts.append(sentence(rng, KITCHEN))
        for variable, templates in (("strategic", STRATEGIC), ("regional_security", SECURITY)):
            if rng.random() < 0.35:
                parts.append(sentence(rng, templates))
                items.add(variable)
        parts.append(sentence(rng, FILLER))
        rng.shuffle(parts)
        text = " ".join(parts)
        uid = f"{prefix}{i:03d}"
        units.append(Unit(uid, f"doc-{prefix}{i // 3}", i, "paragraph", start, start + len(text), text))
        labels[uid] = items
        groups[uid] = f"doc-{prefix}{i // 3}"
    return units, labels, groups


@pytest.fixture(scope="module")
def codebook():
    return parse_codebook(CODEBOOK, "invented.yaml")


@pytest.fixture(scope="module")
def data():
    return invented(150, 1, "t")


@pytest.fixture(scope="module")
def model(codebook, data):
    return train(*data, codebook, seed=0)


def test_training_twice_gives_byte_identical_files(codebook, data, model, tmp_path):
    again = train(*data, codebook, seed=0)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    save_model(model, a)
    save_model(again, b)
    assert a.read_bytes() == b.read_bytes()
    d = json.loads(a.read_text())
    assert d["format"] == "coding-learned-model" and d["vocabulary"] == sorted(d["vocabulary"])
    assert d["codebook_version"] == codebook.version and "scikit-learn" in d["libraries"]
    other = train(*data, codebook, seed=0, C=1.0)
    assert LearnedCoder(other, codebook).version != LearnedCoder(model, codebook).version


def test_save_load_round_trip(codebook, data, model, tmp_path):
    path = tmp_path / "model.json"
    save_model(model, path)
    loaded = load_model(path, codebook)
    assert loaded == model
    save_model(loaded, tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == path.read_bytes()
    units = invented(20, 7, "r")[0]
    assert LearnedCoder(loaded, codebook).code_rows(units) == LearnedCoder(model, codebook).code_rows(units)


def _error(path, codebook=None) -> str:
    with pytest.raises(CodingError) as info:
        load_model(path, codebook)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


def test_load_errors_name_the_file(codebook, model, tmp_path):
    good = tmp_path / "model.json"
    save_model(model, good)
    text = good.read_text()

    truncated = tmp_path / "truncated.json"
    truncated.write_text(text[: len(text) // 2])
    assert "invalid JSON" in _error(truncated)

    not_model = tmp_path / "other.json"
    not_model.write_text(json.dumps({"format": "something-else", "weights": [1, 2]}))
    assert "not a learned-coder model" in _error(not_model)

    d = json.loads(text)
    d["targets"][0]["intercept"] += 1.0  # an edit that keeps the old hash
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(d, sort_keys=True, indent=1))
    assert "hash mismatch" in _error(tampered)

    edited = parse_codebook(CODEBOOK + "\n# an edit\n", "invented.yaml")
    assert edited.version != codebook.version
    assert "codebook version" in _error(good, edited)
    with pytest.raises(CodingError):
        LearnedCoder(model, edited)


def test_every_coding_has_evidence_and_probability(codebook, model):
    units = invented(40, 5, "e", start=1000)[0]
    coder = LearnedCoder(model, codebook)
    assert isinstance(coder, Coder)
    codings = coder.code(units)
    assert codings
    text = {u.id: u.text for u in units}
    for c in codings:
        assert c.evidence and 0.0 <= c.probability <= 1.0 and c.coder == "learned"
        for e in c.evidence:
            assert text[c.unit_id][e.start - 1000:e.end - 1000] == e.term
            # a model feature that raised the probability, or a dictionary hit
            assert (e.pattern.startswith("model:") and e.weight > 0) or \
                (e.weight is None and not e.pattern.startswith("model:"))
    rows = coder.code_rows(units)
    coded = {(c.unit_id, c.variable, c.code) for c in codings}
    assert {(r[0], r[1], r[2]) for r in rows if r[1]} == coded
    for uid, variable, code, evidence in rows:
        if not variable:
            assert code == evidence == "" and not any(c.unit_id == uid for c in codings)
            continue
        for e in json.loads(evidence):
            assert text[uid][e["start"]:e["end"]] == e["term"]


def test_coder_probabilities_equal_the_model_matrix(codebook, model):
    units = invented(30, 9, "p")[0]
    coder = LearnedCoder(model, codebook)
    features = Features(codebook)
    probs = model_probabilities(model, [features.analyse(u.text).counts for u in units])
    k = [t.id for t in model.targets].index("strategic")
    for u, p in zip(units, probs[:, k]):
        fast = coder._score(features.analyse(u.text).counts)[0][k]
        assert fast == pytest.approx(p, abs=1e-9)


def test_too_few_labels_names_the_variable_and_counts(codebook, data):
    units, labels, groups = data
    positives = [u for u in labels if "regional_security" in labels[u]]
    few = {u: (s - {"regional_security"} if u in positives[3:] else s) for u, s in labels.items()}
    with pytest.raises(CodingError) as info:
        train(units, few, groups, codebook)
    assert "regional_security" in str(info.value)
    assert "3 positive" in str(info.value) and f"{len(units) - 3} negative" in str(info.value)


def test_grouped_folds_keep_each_group_on_one_side():
    rng = random.Random(3)
    groups = [f"g{rng.randrange(25)}" for _ in range(200)]
    strata = [rng.randrange(4) for _ in range(200)]
    for seed in (0, 1):
        seen = []
        for train_idx, test_idx in grouped_folds(groups, strata, 5, seed):
            assert not {groups[i] for i in train_idx} & {groups[i] for i in test_idx}
            seen.extend(test_idx)
        assert sorted(seen) == list(range(200))
    with pytest.raises(CodingError):
        grouped_folds(["a", "b", "a"], [0, 1, 0], 5, 0)


def test_cross_validation_does_not_leak_groups(codebook):
    """Labels follow only a word unique to each group: a model that saw the
    test unit's group in training would score near 1."""
    rng = random.Random(11)
    units, labels, groups = [], {}, {}
    for g in range(40):
        items = {v for v in codebook.variable_ids if rng.random() < 0.5}
        for j in range(3):
            uid = f"u{g}-{j}"
            text = f"Zorb{g}x was noted. " + sentence(rng, FILLER)
            units.append(Unit(uid, f"g{g}", j, "paragraph", 0, len(text), text))
            labels[uid], groups[uid] = items, f"g{g}"
    # min_df=1 keeps a group's word even when one other unit of the group is
    # in training: with unit-level folds alpha is then about .87-.97
    table = cross_validate(units, labels, groups, codebook, folds=4, repeats=1, seeds=(0,), min_df=1)
    learned = table[table["coder"] == "learned"]
    assert (learned["alpha"] < 0.4).all()
    assert list(learned["units"]) == [120, 120, 120]


def test_learns_when_a_dictionary_term_counts(codebook, data, model):
    """'gas' in a kitchen is not economic: the dictionary codes it, the
    learned coder does not, on units it has not seen."""
    units, labels, _ = invented(80, 2, "h")
    truth = [int("economic" in labels[u.id]) for u in units]
    learned = {c.unit_id for c in LearnedCoder(model, codebook).code(units) if c.variable == "economic"}
    dictionary = {c.unit_id for c in DictionaryCoder(codebook).code(units) if c.variable == "economic"}
    alpha_learned = krippendorff_alpha([truth, [int(u.id in learned) for u in units]])
    alpha_dictionary = krippendorff_alpha([truth, [int(u.id in dictionary) for u in units]])
    assert alpha_dictionary < 0.6 < 0.9 < alpha_learned
    kitchen = [u for u in units if "gas" in u.text and "economic" not in labels[u.id]]
    assert kitchen and not learned & {u.id for u in kitchen}


def test_cross_validation_compares_the_three_coders(codebook, data):
    extra = invented(60, 4, "x")
    table = cross_validate(*data, codebook, folds=3, repeats=2, seeds=(0, 1), extra=extra)
    assert list(table["coder"].unique()) == ["dictionary", "learned-words", "learned"]
    row = table[(table["variable"] == "economic") & (table["coder"] == "learned")].iloc[0]
    assert row["alpha_min"] <= row["alpha"] <= row["alpha_max"] and row["alpha"] > 0.8
    dictionary = table[(table["variable"] == "economic") & (table["coder"] == "dictionary")].iloc[0]
    assert dictionary["alpha"] < row["alpha"] and dictionary["recall"] == 1.0
    with pytest.raises(CodingError):
        cross_validate(*data, codebook, folds=3, repeats=1, seeds=(0,), extra=data)


def _with_codes(units, labels):
    """Code labels for the economic units: energy for gas and pipelines,
    trade for trade and exports."""
    out = {}
    for u in units:
        items = set(labels[u.id])
        if "economic" in items:
            items |= {"energy"} if "gas" in u.text or "pipeline" in u.text else set()
            items |= {"trade"} if "rade" in u.text or "xport" in u.text else set()
        out[u.id] = items
    return out


def test_code_level_learns_codes_with_enough_units(codebook):
    units, labels, groups = invented(150, 6, "c")
    model = train(units, _with_codes(units, labels), groups, codebook, level="code")
    targets = {t.id: t for t in model.targets}
    assert targets["energy"].kind == "code" and targets["energy"].positives >= 20
    skipped = {s["code"]: s for s in model.skipped}
    assert skipped["militancy"] == {"code": "militancy", "positives": 0, "negatives": 150 - sum(
        "regional_security" in labels[u.id] for u in units)}
    assert set(targets) | set(skipped) == {"economic", "strategic", "regional_security", *codebook.code_ids}
    held, held_labels, _ = invented(60, 8, "d")
    truth = _with_codes(held, held_labels)
    energy = {c.unit_id for c in LearnedCoder(model, codebook).code(held) if c.code == "energy"}
    assert energy == {u.id for u in held if "energy" in truth[u.id]}


def test_context_pattern_alone_is_a_feature(codebook):
    features = Features(codebook)
    alone = features.analyse("An envoy from Vantor arrived.")
    assert alone.counts["ctx:defence"] == 1 and "code:defence" not in alone.counts
    beside = features.analyse("An envoy from Vantor attended the joint exercise.")
    assert "ctx:defence" not in beside.counts and beside.counts["var:strategic"] == 2
