"""What the mention coder reads: a unit's sentences as candidates, with their features.

:class:`Extractor` turns one unit's text into :class:`Candidates` (each
sentence's features as strings); training builds its design matrix from
them. :class:`CompiledFeatures` computes the same features for many units at
once, straight into a sparse matrix over a model's vocabulary: the words are
looked up once per batch in arrays rather than sentence by sentence as
strings, which is what makes coding large corpora fast. Both give the same
features (a test compares them); features outside the model's vocabulary
carry no weight and are not made at all by the compiled path.

Features of a candidate (all binary)
    the lemmas and lemma bigrams of the sentence; the dictionary hits in it
    (``hit:<code>``, ``term:<pattern>``, context patterns ``ctx:<code>``) and
    in the neighbouring sentences (``near:<code>``); negation and modality
    cues, alone and with each hit (``neg+hit:<code>``); the actors named
    (Pakistan, Russia, both); its position and length (first, last, only,
    short, heading); and the unit's words and hits (``u:`` prefix), which
    say what the whole unit is about.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from coding.codebook import Codebook
from coding.coders.dictionary import DictionaryCoder
from coding.coders.language_id import english_from_counts, is_english, token_counts
from coding.coders.learned_features import _lemmas
from coding.coders.word_cache import WordCache
from coding.language import fold

#: A unit of at most this many words in one sentence is a heading or one-line text.
SHORT_WORDS = 12
#: A sentence of fewer words is ``short``; one of fewer without a closing mark is a ``heading``.
SHORT_SENTENCE = 8
HEADING_WORDS = 15
#: Characters that close a sentence (one not ending in one of them may be a heading).
CLOSING = ".!?\"'\u201d)"

_TOKEN = re.compile(r"[^\W_]+")
# a sentence ends at . ! ? (and closing quotes or brackets) before white space and a capital, digit or quote
_SENTENCE_END = re.compile(r"([.!?][\"'\u201d\u2019)\]]*)\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9])")
_NEGATION = frozenset("not no never without nor neither cannot nothing none".split())
_MODAL = frozenset("may might could would should will shall plan plans planned propose proposed hope hopes "
                   "expect expected expects possible possibly likely potential intend intends".split())
_ACTORS = {"pk": frozenset("pakistan pakistani pakistanis islamabad".split()),
           "ru": frozenset("russia russian russians moscow kremlin".split())}
_POSITIONS = ("only", "first", "last", "middle")


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of the sentences of ``text``, white space trimmed."""
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        spans.append((start, m.end(1)))
        start = m.end()
    spans.append((start, len(text.rstrip())))
    return [(s, e) for s, e in spans if e > s]


def _spans(text: str) -> list[tuple[int, int]]:
    """The sentences of a unit, or the whole text as one when it has none;
    the first starts at 0."""
    return sentences(text) or [(0, len(text))]


def _is_heading(text: str, end: int, n_words: int) -> bool:
    return n_words < HEADING_WORDS and (end < 1 or text[end - 1] not in CLOSING)


def _position(i: int, last: int) -> str:
    return "only" if last == 0 else "first" if i == 0 else "last" if i == last else "middle"


def _negated(ws: Sequence[str]) -> bool:
    """A negation word, or a contraction (``n't`` is the words ``...n`` and ``t``)."""
    return any(w in _NEGATION for w in ws) or any(w == "t" and p.endswith("n") for p, w in zip(ws, ws[1:]))


def _located(hits: dict[int, list[tuple[str, int, int]]], codes: Sequence[str], starts: Sequence[int],
             keep: frozenset[int] | None = None) -> dict[str, list[tuple[str, int, int, int]]]:
    """Hits per code index (of those in ``keep``, if given) as hits per code
    id, each with the index of the sentence (from ``starts``) that holds it.
    The first sentence starts at 0 (see :func:`_spans`), so every hit is in one."""
    return {codes[i]: [(p, s, e, bisect_right(starts, s) - 1) for p, s, e in h]
            for i, h in hits.items() if keep is None or i in keep}


@dataclass
class Candidates:
    """A unit's candidates: sentence spans, each sentence's features, the
    unit's own features and the dictionary hits (code -> [(pattern, start,
    end, sentence index)])."""

    spans: list[tuple[int, int]]
    features: list[list[str]]
    unit: list[str]
    hits: dict[str, list[tuple[str, int, int, int]]]
    short: bool
    english: bool


class Extractor:
    """Turns a unit's text into candidates, the same way in training and coding."""

    def __init__(self, codebook: Codebook):
        self.coder = DictionaryCoder(codebook)
        self.lemmas = _lemmas()  # the learned coder's table: both read words alike
        self._codes = [c.id for c in self.coder.codes]

    def hits(self, text: str, starts: Sequence[int]) -> tuple[dict[str, list], dict[str, list]]:
        """Dictionary hits and context-pattern hits (of codes without hits)
        per code id, each (pattern, start, end, sentence index)."""
        hits, context = self.coder.match_with_context(text)
        return _located(hits, self._codes, starts), _located(context, self._codes, starts)

    def words(self, text: str, starts: Sequence[int]) -> list[list[str]]:
        """The lemmas of each sentence (from ``starts``), in text order."""
        folded = fold(text)
        get = self.lemmas.get
        ends = [*starts[1:], len(text)]
        return [[get(t, t) for t in _TOKEN.findall(folded, s, e)] for s, e in zip(starts, ends)]

    def analyse(self, text: str) -> Candidates:
        """The candidates of one unit's text."""
        spans = _spans(text)
        starts = [s for s, _ in spans]
        words = self.words(text, starts)
        located, near = self.hits(text, starts)
        short = len(spans) == 1 and sum(map(len, words)) <= SHORT_WORDS
        features = [sorted(_sentence_features(i, words, spans, located, near, text)) for i in range(len(spans))]
        unit = sorted({"u:" + w for ws in words for w in ws} | {"uhit:" + c for c in located})
        if short:
            unit.append("oneline")
        return Candidates(spans, features, unit, located, short, is_english(text))


def _sentence_features(i, words, spans, located, near, text) -> set[str]:
    """The features of sentence ``i`` of a unit (see the module docstring)."""
    ws = words[i]
    out = set(ws)
    out.update(a + " " + b for a, b in zip(ws, ws[1:]))
    cues = [c for c, on in (("neg", _negated(ws)), ("modal", any(w in _MODAL for w in ws))) if on]
    out.update(cues)
    out.update(_hit_features(i, located, near, cues))
    actors = [a for a, names in _ACTORS.items() if any(w in names for w in ws)]
    out.update("actor:" + a for a in actors)
    if len(actors) == 2:
        out.add("actor:both")
    out.add(_position(i, len(spans) - 1))
    if len(ws) < SHORT_SENTENCE:
        out.add("short")
    if _is_heading(text, spans[i][1], len(ws)):
        out.add("heading")
    return out


def _hit_features(i, located, near, cues) -> set[str]:
    """The features of sentence ``i`` from the hits in it and beside it."""
    out: set[str] = set()
    for code, h in located.items():
        for p, _, _, k in h:
            if k == i:
                out.update(("hit:" + code, "term:" + p, *(c + "+hit:" + code for c in cues)))
        if any(abs(k - i) == 1 for _, _, _, k in h):
            out.add("near:" + code)
    out.update("ctx:" + code for code, h in near.items() if any(k == i for _, _, _, k in h))
    return out


# --------------------------------------------------------------------------
# the same features for many units at once


@dataclass
class Batch:
    """Features of many units as sparse matrices over a model's vocabulary:
    ``sentences`` (a row per sentence) and ``units`` (a row per unit);
    ``offsets[i]:offsets[i + 1]`` are the sentence rows of unit i; per unit
    its spans, hits (as in :class:`Candidates`), whether it is short and in
    English."""

    sentences: sparse.csr_matrix
    units: sparse.csr_matrix
    offsets: np.ndarray
    spans: list[list[tuple[int, int]]]
    hits: list[dict[str, list[tuple[str, int, int, int]]]]
    short: np.ndarray
    english: np.ndarray


class CompiledFeatures:
    """The features of :class:`Extractor` restricted to ``vocabulary`` (the
    model's columns), computed for many units at once.

    Every lemma the vocabulary can use gets a number; a word form maps to its
    lemma's number (-1 for lemmas the vocabulary never uses), bigrams to a
    pair of numbers, and each number to its columns, so that a batch's words
    are turned into columns by array look-ups."""

    def __init__(self, extractor: Extractor, vocabulary: Sequence[str]):
        self.extractor = extractor
        self.n_columns = len(vocabulary)
        self.column = {f: j for j, f in enumerate(vocabulary)}
        pairs = [(j, a, b) for f, j in self.column.items() for a, b in _splits(f)]
        lemma_id = _lemma_numbers(vocabulary, pairs)
        self._n_lemmas = n = len(lemma_id)
        self._lemma_arrays(list(lemma_id))
        self._t = lemma_id["t"]
        keys = np.array([lemma_id[a] * n + lemma_id[b] for _, a, b in pairs], dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        self._pair_keys, self._pair_columns = keys[order], np.array([j for j, _, _ in pairs], dtype=np.int64)[order]
        table = extractor.lemmas
        self._form_id = {form: lemma_id[lemma] for form, lemma in table.items() if lemma in lemma_id}
        self._form_id.update((w, i) for w, i in lemma_id.items() if w not in table)
        self._hit_columns()
        self._words = WordCache(self._token_rows, width=5)

    def _lemma_arrays(self, lemmas: list[str]) -> None:
        """Per lemma number: its word and unit columns, its cues; one more
        entry at the end for -1 (a lemma the vocabulary never uses)."""
        self._word_column = np.array([self.col(w) for w in lemmas] + [-1], dtype=np.int64)
        self._unit_column = np.array([self.col("u:" + w) for w in lemmas] + [-1], dtype=np.int64)
        self._flags = {name: np.array([w in words for w in lemmas] + [False])
                       for name, words in (("neg", _NEGATION), ("modal", _MODAL), *_ACTORS.items())}

    def _hit_columns(self) -> None:
        """Columns of the hit features per code and pattern, and the codes
        whose ``ctx:`` feature has a weight (only their context hits are kept)."""
        self._codes = [c.id for c in self.extractor.coder.codes]
        self._term_columns = {f[5:]: j for f, j in self.column.items() if f.startswith("term:")}
        self._code_index = {c: i for i, c in enumerate(self._codes)}
        # per code index: the columns of hit:, neg+hit:, modal+hit:, near:, ctx:
        self._code_columns = np.array([[self.col(f + c) for f in ("hit:", "neg+hit:", "modal+hit:", "near:", "ctx:")]
                                       for c in self._codes], dtype=np.int64).reshape(len(self._codes), 5)
        self._unit_hit_columns = {c: self.col("uhit:" + c) for c in self._codes}
        self._context_codes = frozenset(i for i, c in enumerate(self._codes) if self.col("ctx:" + c) >= 0)

    def col(self, feature: str) -> int:
        """Column of a feature, -1 when the vocabulary lacks it."""
        return self.column.get(feature, -1)

    def _token_rows(self, words: list[str]) -> list[list[tuple[int, bool, int, int, bool]]]:
        """Per folded word (white space apart), a row per token (a run of
        letters and digits; none crosses white space): its form's number
        (-1: a lemma the vocabulary never uses), whether its lemma ends in n
        (for "n't"), the words and stop words it adds to the English test,
        whether it is outside ASCII (then the text is tested whole)."""
        form, lemmas = self._form_id.get, self.extractor.lemmas
        out = []
        for word in words:
            rows = []
            for t in _TOKEN.findall(word):
                ascii_ = t.isascii()
                rows.append((form(t, -1), lemmas.get(t, t).endswith("n"), *(token_counts(t) if ascii_ else (0, 0)),
                             not ascii_))
            out.append(rows)
        return out

    def batch(self, texts: Sequence[str]) -> Batch:
        """The features of ``texts`` (see :class:`Batch`)."""
        words: list[str] = []
        per_sentence: list[int] = []
        spans_of, hits_of, near_of = [], [], []
        headings_end: list[bool] = []
        for text in texts:
            spans = _spans(text)
            starts = [s for s, _ in spans]
            folded = fold(text)
            for s, e in zip(starts, [*starts[1:], len(text)]):
                found = folded[s:e].split()
                words += found
                per_sentence.append(len(found))
            located, near = self.hits(text, starts, folded)
            spans_of.append(spans)
            hits_of.append(located)
            near_of.append(near)
            headings_end.extend(e < 1 or text[e - 1] not in CLOSING for _, e in spans)
        offsets = np.r_[0, np.cumsum([len(s) for s in spans_of])].astype(np.int64)
        rows, lens = self._words.rows(words)
        sentence = np.repeat(np.repeat(np.arange(len(per_sentence)), per_sentence), lens)
        n_words = np.bincount(sentence, minlength=len(per_sentence)).astype(np.int64)
        unit_of = np.repeat(np.arange(len(texts)), np.diff(offsets))
        tokens = rows[:, 0]
        cues = self._cues(tokens, sentence, rows[:, 1].astype(bool), len(per_sentence))
        r1, c1 = self._word_features(tokens, sentence)
        r2, c2 = self._structure(cues, n_words, np.asarray(headings_end, dtype=bool), offsets, unit_of)
        r3, c3 = self._hit_features(hits_of, near_of, offsets, unit_of, cues)
        per_unit = np.add.reduceat(n_words, offsets[:-1]) if len(texts) else np.zeros(0, dtype=np.int64)
        short = (np.diff(offsets) == 1) & (per_unit <= SHORT_WORDS)
        ur, uc = self._unit_features(tokens, unit_of[sentence], hits_of, short)
        return Batch(_binary(np.concatenate([r1, r2, r3]), np.concatenate([c1, c2, c3]), len(per_sentence),
                             self.n_columns),
                     _binary(ur, uc, len(texts), self.n_columns), offsets, spans_of, hits_of, short,
                     self._english(texts, rows, unit_of[sentence]))

    @staticmethod
    def _english(texts, rows, unit_of_token) -> np.ndarray:
        """Per text, :func:`is_english`: from its tokens' counts when all are
        ASCII, else from the whole text."""
        n = len(texts)
        counts = [np.bincount(unit_of_token, weights=rows[:, k], minlength=n) for k in (2, 3, 4)]
        english = english_from_counts(counts[0], counts[1])
        for u in np.flatnonzero(counts[2] > 0):
            english[u] = is_english(texts[u])
        return np.asarray(english, dtype=bool)

    def _cues(self, words, sentence, ends_n, n_sentences) -> dict[str, np.ndarray]:
        """Per sentence: a negation, a modal, each actor named."""
        out = {name: np.bincount(sentence[flag[words]], minlength=n_sentences) > 0
               for name, flag in self._flags.items()}
        # n't: a word "t" after a word whose lemma ends in n, in the same sentence
        after = (words[1:] == self._t) & (sentence[1:] == sentence[:-1]) & ends_n[:-1]
        out["neg"][sentence[1:][after]] = True
        return out

    def _word_features(self, words, sentence) -> tuple[np.ndarray, np.ndarray]:
        """(sentence, column) of the lemmas and lemma bigrams in the vocabulary."""
        cols = self._word_column[words]
        keep = cols >= 0
        rows, cols = [sentence[keep]], [cols[keep]]
        a, b = words[:-1], words[1:]
        pair = (sentence[1:] == sentence[:-1]) & (a >= 0) & (b >= 0)
        keys = a[pair] * self._n_lemmas + b[pair]
        at = np.searchsorted(self._pair_keys, keys)
        found = at < len(self._pair_keys)
        found[found] = self._pair_keys[at[found]] == keys[found]
        rows.append(sentence[1:][pair][found])
        cols.append(self._pair_columns[at[found]])
        # a bigram of lemmas with a space may read as two pairs: the feature is one
        return np.concatenate(rows), np.concatenate(cols)

    def _structure(self, cues, n_words, heading_end, offsets, unit_of) -> tuple[np.ndarray, np.ndarray]:
        """(sentence, column) of the cues, position, length and heading features."""
        index = np.arange(len(n_words)) - offsets[:-1][unit_of]
        last = np.diff(offsets)[unit_of] - 1
        position = np.where(last == 0, 0, np.where(index == 0, 1, np.where(index == last, 2, 3)))
        rows, cols = [], []
        flags = {"neg": cues["neg"], "modal": cues["modal"], "actor:pk": cues["pk"], "actor:ru": cues["ru"],
                 "actor:both": cues["pk"] & cues["ru"], "short": n_words < SHORT_SENTENCE,
                 "heading": heading_end & (n_words < HEADING_WORDS),
                 **{p: position == k for k, p in enumerate(_POSITIONS)}}
        for feature, on in flags.items():
            j = self.col(feature)
            if j >= 0:
                at = np.flatnonzero(on)
                rows.append(at)
                cols.append(np.full(len(at), j, dtype=np.int64))
        return _joined(rows, cols)

    def _hit_features(self, hits_of, near_of, offsets, unit_of, cues) -> tuple[np.ndarray, np.ndarray]:
        """(sentence, column) of the dictionary's and context patterns' hits
        (``unit_of``: each sentence's unit); a pair may come more than once."""
        n_codes, index, term = len(self._codes), self._code_index, self._term_columns.get
        sentence: list[int] = []
        code: list[int] = []
        terms: list[int] = []
        context: list[int] = []  # sentence * n_codes + code of the context hits
        for base, located, near in zip(offsets.tolist(), hits_of, near_of):
            for c, h in located.items():
                i = index[c]
                for p, _, _, k in h:
                    sentence.append(base + k)
                    code.append(i)
                    terms.append(term(p, -1))
            for c, h in near.items():
                context += [(base + k) * n_codes + index[c] for _, _, _, k in h]
        at = np.asarray(sentence, dtype=np.int64)
        # each sentence with a hit of a code once: its hit:, neg+hit: and modal+hit: features
        held = np.unique(at * n_codes + np.asarray(code, dtype=np.int64))
        hs, hc = held // n_codes, held % n_codes
        cols = self._code_columns
        rows = [at, hs, hs, hs]
        out = [np.asarray(terms, dtype=np.int64), cols[hc, 0], np.where(cues["neg"][hs], cols[hc, 1], -1),
               np.where(cues["modal"][hs], cols[hc, 2], -1)]
        first, end = offsets[:-1][unit_of[hs]], offsets[1:][unit_of[hs]]
        for step in (-1, 1):  # near: the sentences beside it in its unit
            beside = hs + step
            ok = (beside >= first) & (beside < end)
            rows.append(beside[ok])
            out.append(cols[hc[ok], 3])
        ctx = np.unique(np.asarray(context, dtype=np.int64))
        rows.append(ctx // n_codes)
        out.append(cols[ctx % n_codes, 4])
        return np.concatenate(rows), np.concatenate(out)

    def hits(self, text: str, starts: Sequence[int], folded: str) -> tuple[dict[str, list], dict[str, list]]:
        """:meth:`Extractor.hits` (``folded`` is the folded text), the
        context hits kept only for codes whose ``ctx:`` feature has a weight."""
        found, context = self.extractor.coder.match_with_context(text, folded)
        return _located(found, self._codes, starts), _located(context, self._codes, starts, self._context_codes)

    def _unit_features(self, words, unit_of_word, hits_of, short) -> tuple[np.ndarray, np.ndarray]:
        """(unit, column) of the unit's lemmas, hits and one-line flag."""
        cols = self._unit_column[words]
        keep = cols >= 0
        rows, out = [unit_of_word[keep]], [cols[keep]]
        unit_hit, oneline = self._unit_hit_columns, self.col("oneline")
        extra = [(u, unit_hit[code]) for u, located in enumerate(hits_of) for code in located]
        extra += [(int(u), oneline) for u in np.flatnonzero(short)]
        if extra:
            rows.append(np.array([u for u, _ in extra], dtype=np.int64))
            out.append(np.array([j for _, j in extra], dtype=np.int64))
        return np.concatenate(rows), np.concatenate(out)


def _lemma_numbers(vocabulary: Sequence[str], pairs: list[tuple[int, str, str]]) -> dict[str, int]:
    """A number for every lemma the vocabulary can use: as a word, in the
    unit (``u:``), in a bigram, or as a cue (negation, modality, actors)."""
    lemma_id: dict[str, int] = {}
    cue_words = sorted({"t", *_NEGATION, *_MODAL, *(w for names in _ACTORS.values() for w in names)})
    for f in (*vocabulary, *cue_words):
        lemma_id.setdefault(f[2:] if f.startswith("u:") else f, len(lemma_id))
    for _, a, b in pairs:
        lemma_id.setdefault(a, len(lemma_id))
        lemma_id.setdefault(b, len(lemma_id))
    return lemma_id


def _splits(feature: str) -> list[tuple[str, str]]:
    """The ways a feature may be a bigram ``a b`` of two lemmas (a lemma may hold a space)."""
    if ":" in feature:
        return []
    return [(feature[:i], feature[i + 1:]) for i, c in enumerate(feature)
            if c == " " and 0 < i < len(feature) - 1]


def _joined(rows: list, cols: list) -> tuple[np.ndarray, np.ndarray]:
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(rows), np.concatenate(cols)


def _binary(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int) -> sparse.csr_matrix:
    """A 0/1 matrix with a one at each (row, column) given, columns of -1 left out."""
    keep = cols >= 0
    rows, cols = rows[keep], cols[keep]
    X = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_rows, n_cols))
    X.sum_duplicates()
    X.data[:] = 1.0  # a feature is present or not, however often it occurs
    return X
