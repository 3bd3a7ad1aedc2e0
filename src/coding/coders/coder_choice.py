"""Which coder codes: the dictionary coder (``auto``), the learned coder
(``learned``) or the mention coder (``mentions``) with their model files,
and the codebook each needs.

The default is the mention coder wherever the model that ships with the
package was made for the codebook at hand (it is the better coder on real
text, measured by leave-one-collection-out), else the dictionary coder: a
model is tied to its codebook's version, and a codebook a study edits must
still code without one.

The learned coder's model keeps a copy of the codebook it was trained with:
without a codebook at hand it codes with that copy, and a codebook given (or
found) must be the same version.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from coding.errors import CodingError
from coding.records import AUTO, LEARNED, MENTIONS, Coder, StrPath

CODERS = (AUTO, LEARNED, MENTIONS)
#: Coders that take a model file.
MODEL_CODERS = (LEARNED, MENTIONS)
DEFAULT_CODEBOOK = "codebook.yaml"


def shipped_model() -> Path:
    """The model file that ships inside the package."""
    return Path(str(resources.files("coding") / "models" / "learned.json"))


def shipped_mentions_codebook() -> str:
    """The codebook version the shipped mention model was made for ("" when
    it cannot be read)."""
    from coding.coders.mentions import model_codebook_version, shipped_model_path

    return model_codebook_version(shipped_model_path())


def default_coder_name(codebook) -> str:
    """The default coder for ``codebook`` (a :class:`~coding.codebook.Codebook`):
    ``mentions`` when the shipped mention model was made for its version,
    else ``auto``."""
    return MENTIONS if codebook.version == shipped_mentions_codebook() else AUTO


def default_coder(codebook) -> Coder:
    """The default coder (:func:`default_coder_name`) of ``codebook``, ready to code."""
    if default_coder_name(codebook) == MENTIONS:
        from coding.coders.mentions import MentionCoder, load_model, shipped_model_path

        return MentionCoder(load_model(shipped_model_path()), codebook)
    from coding.coders.dictionary import DictionaryCoder

    return DictionaryCoder(codebook)


def stored_default(store) -> str:
    """The coder a report or a check of ``store`` reads when none is named:
    the default coder of the store's codebook when it has coded in the
    store, else the first automatic coder that has (``auto``, ``learned``,
    ``mentions``), else that default."""
    try:
        preferred = default_coder_name(store.codebook())
    except CodingError:  # no coding yet
        return AUTO
    present = set(store.coder_names())
    return next((c for c in (preferred, *CODERS) if c in present), preferred)


def make_coder(name: str | None = None, codebook: StrPath | None = None, model: StrPath | None = None,
               min_probability: float | None = None):
    """(coder, codebook) for coder ``name`` (None: the default coder of the
    codebook, :func:`default_coder_name`).

    ``codebook`` is a path; None means ``codebook.yaml`` in the current
    folder, which the learned coder may do without (it then uses the copy
    in its model). ``model`` is the learned or mention coder's model file
    (default: the shipped one). ``min_probability`` (mention coder only)
    raises every code's threshold to at least that probability.
    """
    from coding.codebook import load_codebook

    loaded = None  # the codebook, once read to choose the default coder
    if name is None:
        if model is not None:
            raise CodingError("a model file needs its coder: --coder learned or --coder mentions", model)
        loaded = load_codebook(codebook or DEFAULT_CODEBOOK)
        name = default_coder_name(loaded)
    if name not in CODERS:
        raise CodingError(f"unknown coder '{name}' (use one of: {', '.join(CODERS)})")
    if model is not None and name not in MODEL_CODERS:
        raise CodingError("a model file is for the learned coder only (and the mention coder)", model)
    if min_probability is not None and name != MENTIONS:
        raise CodingError("--min-probability is for the mention coder (--coder mentions)")
    if min_probability is not None and not 0.0 <= min_probability <= 1.0:
        raise CodingError(f"--min-probability must lie between 0 and 1, got {min_probability}")
    if name == AUTO:
        from coding.coders.dictionary import DictionaryCoder

        cb = loaded or load_codebook(codebook or DEFAULT_CODEBOOK)
        return DictionaryCoder(cb), cb
    if name == MENTIONS:
        return _mentions(loaded or load_codebook(codebook or DEFAULT_CODEBOOK), model, min_probability or 0.0)
    return _learned(codebook, model)


def _mentions(cb, model: StrPath | None, min_probability: float) -> tuple[Coder, object]:
    from coding.coders.mentions import MentionCoder, load_model, shipped_model_path

    fitted = load_model(Path(model) if model is not None else shipped_model_path())
    return MentionCoder(fitted, cb, min_probability=min_probability), cb


def _learned(codebook: StrPath | None, model: StrPath | None) -> tuple[Coder, object]:
    from coding.codebook import load_codebook
    from coding.coders.learn import LearnedCoder, load_model, model_codebook

    path = Path(model) if model is not None else shipped_model()
    if not path.is_file():
        raise CodingError("no model file here (train one first)", path)
    fitted = load_model(path)
    if codebook is None and not Path(DEFAULT_CODEBOOK).is_file():
        cb = model_codebook(fitted, str(path))
    else:
        cb = load_codebook(codebook or DEFAULT_CODEBOOK)
        if fitted.codebook_version != cb.version:
            raise CodingError(f"model made for codebook version {fitted.codebook_version}, the codebook "
                              f"{cb.path} is version {cb.version}: train the model again", path)
    try:
        return LearnedCoder(fitted, cb), cb
    except CodingError as exc:  # what is wrong with the model: say which file
        exc.path = exc.path or str(path)
        raise CodingError(exc.message, exc.path, exc.line, exc.item) from None
