"""Statistics that respect how the data were gathered: units nested in documents.

The units of a document share an author, a date and a topic, so they are not
independent draws: intervals and tests that treat them as such are too
narrow. Here every interval resamples documents (a document-clustered
percentile bootstrap) and every test permutes what the design allows:

- a share's interval: documents drawn with replacement, all of a document's
  units together (:func:`share_intervals`);
- a difference between two shares (two periods, two groups of documents):
  the same resamples, the interval of the difference (:func:`difference`);
- a crosstab of an item by a grouping: the Pearson chi-square statistic,
  its p-value from permuting the grouping across documents when the grouping
  is a document's attribute (doc type, date, any manifest column), or within
  documents when it varies inside them (speakers of an interview); when no
  document holds more than one unit the units are independent and the
  ordinary test fits: chi-square, or Fisher's exact test where an expected
  count is below 5 (:func:`crosstab_test`);
- co-occurrence of two items within units: the Cochran-Mantel-Haenszel test
  with documents as strata, which asks whether the two go together more than
  their documents' shares of each would give (:func:`within_documents`).

Every random draw comes from a generator seeded with :data:`SEED`, so the
tables are the same on every run.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse, stats

#: bootstrap resamples of documents
RESAMPLES = 1000
#: permutations of a grouping
PERMUTATIONS = 999
#: the seed of every draw
SEED = 12345
#: an interval is withheld when more resamples than this share leave its group empty
MAX_UNDEFINED = 0.10
#: replicates drawn at a time (bounds the memory of a corpus of many documents)
CHUNK = 50


def _pairs(member_group: np.ndarray, member_doc: np.ndarray, n_docs: int):
    """The distinct (group, document) pairs: group, document, and the pair of each member."""
    keys = member_group.astype(np.int64) * max(n_docs, 1) + member_doc.astype(np.int64)
    distinct, pair = np.unique(keys, return_inverse=True)
    return distinct // max(n_docs, 1), distinct % max(n_docs, 1), pair.reshape(-1)


def replicates(member_group: np.ndarray, member_doc: np.ndarray, coded: np.ndarray, n_groups: int, n_docs: int,
               resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """Shares of ``coded`` (members x items, 0/1) per group in each
    document-clustered resample: an array (resamples, groups, items); NaN
    where a resample holds no member of the group.

    Unit ``i`` is member ``i`` of group ``member_group[i]`` and lies in
    document ``member_doc[i]`` (0..n_docs-1); a unit may be a member of
    several groups (the years it mentions)."""
    k = coded.shape[1]
    out = np.full((resamples, n_groups, k), np.nan)
    if not len(member_group) or not n_docs:
        return out
    group, doc, pair = _pairs(member_group, member_doc, n_docs)
    n_pairs = len(group)
    den = np.bincount(pair, minlength=n_pairs).astype(float)
    num = np.stack([np.bincount(pair, weights=coded[:, j], minlength=n_pairs) for j in range(k)], axis=1) \
        if k else np.zeros((n_pairs, 0))
    member = sparse.csr_matrix((np.ones(n_pairs), (np.arange(n_pairs), group)), shape=(n_pairs, n_groups))
    den_g = member.multiply(den[:, None]).tocsr()
    num_g = [member.multiply(num[:, j][:, None]).tocsr() for j in range(k)]
    rng = np.random.default_rng(seed)
    for lo in range(0, resamples, CHUNK):
        c = min(CHUNK, resamples - lo)
        weights = rng.multinomial(n_docs, np.full(n_docs, 1.0 / n_docs), size=c).astype(float)[:, doc]
        units = (den_g.T @ weights.T).T  # (c, groups)
        with np.errstate(divide="ignore", invalid="ignore"):
            for j in range(k):
                out[lo:lo + c, :, j] = np.where(units > 0, (num_g[j].T @ weights.T).T / units, np.nan)
    return out


def documents_per_group(member_group: np.ndarray, member_doc: np.ndarray, n_groups: int, n_docs: int) -> np.ndarray:
    """How many distinct documents hold members of each group."""
    if not len(member_group):
        return np.zeros(n_groups, dtype=np.int64)
    group, _, _ = _pairs(member_group, member_doc, n_docs)
    return np.bincount(group, minlength=n_groups).astype(np.int64)


def percentile_interval(reps: np.ndarray, n_docs_in_group: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """95% percentile intervals of replicate shares (resamples first); NaN
    (withheld) where more than :data:`MAX_UNDEFINED` of the resamples are
    undefined, where the group lies in fewer than two documents (a single
    cluster says nothing of the spread between documents), or where every
    resample gives the same value (an interval of one point covers nothing)."""
    shape = reps.shape[1:]
    if not reps.shape[0]:
        return np.full(shape, np.nan), np.full(shape, np.nan)
    undefined = np.isnan(reps).mean(axis=0)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices are withheld below
            low = np.nanquantile(reps, 0.025, axis=0)
            high = np.nanquantile(reps, 0.975, axis=0)
    withheld = (undefined > MAX_UNDEFINED) | ~(high > low)
    if n_docs_in_group is not None:
        withheld |= (np.asarray(n_docs_in_group) < 2).reshape((-1,) + (1,) * (len(shape) - 1))
    return np.where(withheld, np.nan, low), np.where(withheld, np.nan, high)


def share_intervals(member_group, member_doc, coded, n_groups: int, n_docs: int) -> tuple[np.ndarray, np.ndarray]:
    """Document-clustered 95% intervals of each group's share of each item (groups x items)."""
    reps = replicates(member_group, member_doc, coded, n_groups, n_docs)
    return percentile_interval(reps, documents_per_group(member_group, member_doc, n_groups, n_docs))


def difference(reps_a: np.ndarray, reps_b: np.ndarray) -> dict:
    """The document-clustered 95% interval of ``b - a`` from paired
    replicates (the same resamples) and its verdict: "higher" (b above a)
    or "lower" when the interval excludes 0, else "no clear difference";
    "undefined" when too many resamples leave a side empty."""
    diff = reps_b - reps_a
    if not len(diff) or np.isnan(diff).mean() > MAX_UNDEFINED:
        return {"diff_low": math.nan, "diff_high": math.nan, "verdict": "undefined"}
    low, high = np.nanquantile(diff, [0.025, 0.975])
    verdict = "higher" if low > 0 else "lower" if high < 0 else "no clear difference"
    return {"diff_low": float(low), "diff_high": float(high), "verdict": verdict}


def _chi2(coded: np.ndarray, units: np.ndarray) -> np.ndarray:
    """Pearson chi-square of 2 x groups tables: ``coded`` and ``units`` per
    group (last axis), any leading axes (permutations, items)."""
    n = units.sum(axis=-1, keepdims=True)
    a = coded.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = a / n
        expected_yes, expected_no = units * p, units * (1 - p)
        terms = np.where(expected_yes > 0, (coded - expected_yes) ** 2 / np.where(expected_yes > 0, expected_yes, 1), 0)
        terms += np.where(expected_no > 0, ((units - coded) - expected_no) ** 2 / np.where(expected_no > 0,
                                                                                          expected_no, 1), 0)
    return terms.sum(axis=-1)


def _unit_test(coded_g: np.ndarray, units_g: np.ndarray) -> tuple[str, float, float]:
    """(test, statistic, p) of one item over independent units: chi-square,
    or Fisher's exact test (2 groups) where an expected count is below 5."""
    table = np.stack([coded_g, units_g - coded_g])
    table = table[:, units_g > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return "none", math.nan, math.nan
    chi2, p, _, expected = stats.chi2_contingency(table, correction=False)
    if expected.min() < 5 and table.shape[1] == 2:
        return "Fisher exact", float(chi2), float(stats.fisher_exact(table)[1])
    return "chi-square", float(chi2), float(p)


def crosstab_test(group: np.ndarray, doc: np.ndarray, coded: np.ndarray, n_groups: int,
                  permutations: int = PERMUTATIONS, seed: int = SEED) -> list[dict]:
    """The test of association between a grouping of the units (``group``,
    0..n_groups-1) and each item (``coded``: units x items), one dict per
    item: ``test``, ``statistic`` (Pearson chi-square over units), ``df``,
    ``p`` (of the test that fits the design, see the module docstring) and
    ``p_units`` (the unit-level test, which assumes independent units)."""
    k = coded.shape[1]
    units_g = np.bincount(group, minlength=n_groups)
    coded_g = np.stack([np.bincount(group, weights=coded[:, j], minlength=n_groups) for j in range(k)]) \
        if k else np.zeros((0, n_groups))
    df = int((units_g > 0).sum()) - 1
    observed = _chi2(coded_g, units_g)
    per_doc = np.bincount(doc) if len(doc) else np.zeros(0)
    clustered = bool(len(per_doc) and per_doc.max() > 1)
    constant = _constant_within(group, doc)
    if clustered:
        perm = _permuted_chi2(group, doc, coded, n_groups, constant, permutations, seed)
        with np.errstate(invalid="ignore"):
            p_perm = (1 + (perm >= observed[None, :] - 1e-9).sum(axis=0)) / (permutations + 1)
    out = []
    for j in range(k):
        name, _, p_units = _unit_test(coded_g[j], units_g)
        row: dict[str, float | int | str] = {"statistic": float(observed[j]), "df": df, "p_units": p_units}
        if df < 1 or name == "none":
            row.update(test="none", p=math.nan)
        elif clustered:
            row.update(test="documents permuted" if constant else "permuted within documents", p=float(p_perm[j]))
        else:
            row.update(test=name, p=p_units)
        out.append(row)
    return out


def _constant_within(group: np.ndarray, doc: np.ndarray) -> bool:
    """Whether every document's units share one group."""
    if not len(group):
        return True
    order = np.lexsort((group, doc))
    g, d = group[order], doc[order]
    same_doc = d[1:] == d[:-1]
    return bool((g[1:][same_doc] == g[:-1][same_doc]).all())


def _permuted_chi2(group, doc, coded, n_groups: int, constant: bool, permutations: int, seed: int) -> np.ndarray:
    """Chi-square of each item under each permutation of the grouping
    (permutations x items): across documents when the grouping is constant
    within them, else within each document."""
    rng = np.random.default_rng(seed)
    k = coded.shape[1]
    out = np.zeros((permutations, k))
    if constant:
        docs, first = np.unique(doc, return_index=True)
        labels = group[first]
        inverse = np.searchsorted(docs, doc)
        units_d = np.bincount(inverse, minlength=len(docs)).astype(float)
        coded_d = np.stack([np.bincount(inverse, weights=coded[:, j], minlength=len(docs)) for j in range(k)], axis=1)
        for i in range(permutations):
            shuffled = rng.permutation(labels)
            units_g = np.bincount(shuffled, weights=units_d, minlength=n_groups)
            coded_g = np.stack([np.bincount(shuffled, weights=coded_d[:, j], minlength=n_groups) for j in range(k)])
            out[i] = _chi2(coded_g, units_g)
        return out
    units_g = np.bincount(group, minlength=n_groups).astype(float)  # fixed: labels move within documents
    for i in range(permutations):
        order = np.lexsort((rng.random(len(group)), doc))  # a random order within each document
        by_doc = np.argsort(doc, kind="stable")
        shuffled = np.empty_like(group)
        shuffled[by_doc] = group[order]
        coded_g = np.stack([np.bincount(shuffled, weights=coded[:, j], minlength=n_groups) for j in range(k)])
        out[i] = _chi2(coded_g, units_g)
    return out


def within_documents(a: np.ndarray, b: np.ndarray, doc: np.ndarray) -> dict:
    """Co-occurrence of two 0/1 unit columns against their documents' shares:
    the Cochran-Mantel-Haenszel test with documents as strata (continuity
    corrected, two-sided). ``expected_within`` is the count of units with
    both that the documents' own shares of each would give; p is NaN when
    no document leaves room for variation."""
    a, b = a.astype(float), b.astype(float)
    n = np.bincount(doc).astype(float)
    if not len(n):
        return {"expected_within": math.nan, "p_within": math.nan}
    na = np.bincount(doc, weights=a, minlength=len(n))
    nb = np.bincount(doc, weights=b, minlength=len(n))
    nab = float((a * b).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = float(np.where(n > 0, na * nb / np.where(n > 0, n, 1), 0).sum())
        var = float(np.where(n > 1, na * nb * (n - na) * (n - nb) / (n * n * np.where(n > 1, n - 1, 1)), 0).sum())
    if var <= 0:
        return {"expected_within": expected, "p_within": math.nan}
    z = max(abs(nab - expected) - 0.5, 0) / math.sqrt(var)
    return {"expected_within": expected, "p_within": float(2 * stats.norm.sf(z))}
