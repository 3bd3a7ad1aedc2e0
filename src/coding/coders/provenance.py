"""Where a reliability figure comes from: in-sample or not.

Agreement or validation between an automatic coder and a person says how
well the coder generalises only on units it was not fitted to. Two cases are
known to the project and stated next to the figure:

- the dictionary coder (``auto``) against a person whose units the codebook
  was tuned on: the corpus says so in ``coders/provenance.yaml``
  (``development_coders: [human-1, ...]``), which ``coding run`` records in
  the store;
- the learned coder or the mention coder against a person it was trained
  on: its model file records the coders it learned from
  (``training.coders``); the mention coder also decides by the codebook's
  patterns, so the codebook's development coders are in-sample for it too.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from coding.errors import CodingError
from coding.records import AUTO, AUTOMATIC_CODERS, LEARNED, MENTIONS

#: the file beside the coder files that names the codebook's development coders
PROVENANCE_FILE = "provenance.yaml"


def read_development_coders(coders_dir) -> list[str]:
    """``development_coders`` of ``<coders_dir>/provenance.yaml`` (none when the file is absent)."""
    path = Path(coders_dir) / PROVENANCE_FILE
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise CodingError(f"invalid YAML: {str(exc).splitlines()[0]}", path) from None
    names = data.get("development_coders", []) if isinstance(data, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        raise CodingError("development_coders must be a list of coder names", path)
    return sorted({n.strip() for n in names})


def learned_training(store) -> list[str] | None:
    """The coders the stored learned coder was trained on, from its model
    file (the shipped model when its hash is the stored coder's version);
    None when the model is not known here."""
    from coding.coders.coder_choice import shipped_model
    from coding.coders.learn import load_model

    return _shipped_training(store, LEARNED, lambda: load_model(shipped_model()))


def mentions_training(store) -> list[str] | None:
    """The coders the stored mention coder was trained on, as
    :func:`learned_training` does for the learned coder."""
    from coding.coders.mentions import load_model, shipped_model_path

    return _shipped_training(store, MENTIONS, lambda: load_model(shipped_model_path()))


def _shipped_training(store, coder: str, shipped) -> list[str] | None:
    """``training.coders`` of the model ``shipped()`` loads when every stored
    version of ``coder`` is that model's; None otherwise (or when ``coder``
    has no coding in the store)."""
    versions = store.coder_versions(coder)
    if not versions:
        return None
    model = shipped()
    if not all(v.startswith(model.sha256[:12]) for v in versions):
        return None
    return sorted(model.training.get("coders", []))


def notes(store, coders: list[str]) -> list[str]:
    """One sentence per in-sample comparison among ``coders`` ([] when none)."""
    out = []
    people = [c for c in coders if c not in AUTOMATIC_CODERS]
    if AUTO in coders:
        tuned = [c for c in people if c in store.development_coders()]
        if tuned:
            out.append(f"In-sample: the codebook was tuned on the units {', '.join(tuned)} coded "
                       f"(coders/{PROVENANCE_FILE}), so agreement of {AUTO} with {', '.join(tuned)} shows how well "
                       "the codebook fits its development set, not how it does on new texts.")
    if MENTIONS in coders:
        out += _mentions_notes(store, people)
    if LEARNED in coders:
        trained = learned_training(store)
        taught = [c for c in people if trained is not None and c in trained]
        if taught:
            out.append(f"In-sample: {LEARNED} was trained on the codings of {', '.join(taught)} (its model file's "
                       f"training.coders), so its agreement with {', '.join(taught)} is not a test on unseen units.")
        elif trained is None:
            out.append(f"The model of {LEARNED} is not the shipped one: whether it was trained on these coders is "
                       "not known here.")
    return out


def _mentions_notes(store, people: list[str]) -> list[str]:
    """The in-sample sentence of the mention coder against ``people``."""
    trained = mentions_training(store)
    if trained is None and store.coder_versions(MENTIONS):
        return [f"The model of {MENTIONS} is not the shipped one: whether it was trained on these coders is "
                "not known here."]
    taught = [c for c in people if c in (trained or [])]
    tuned = [c for c in people if c in store.development_coders() and c not in taught]
    parts = []
    if taught:
        parts.append(f"was trained on the codings of {', '.join(taught)} (its model file's training.coders)")
    if tuned:
        parts.append(f"decides by the codebook's patterns, tuned on the units {', '.join(tuned)} coded "
                     f"(coders/{PROVENANCE_FILE})")
    if not parts:
        return []
    return [f"In-sample: {MENTIONS} {'; it '.join(parts)}, so its agreement with {', '.join(taught + tuned)} is "
            "not a test on unseen units."]
