"""What the coding app does, without the web server: who codes under which
name, which unit comes next, what the page shows of a unit, and how a
decision is stored.

A :class:`Workbench` is the app on one store; each browser that starts
coding gets a :class:`Desk`: one person, one mode, one plan (the units to
code, in order). Every decision is stored at once, in its own transaction,
with the unit marked seen (:meth:`coding.store.Store.save_decision`), so a
closed tab or a killed server loses at most the unit on screen, and a new
desk for the same person resumes at the first unit of its plan they have not
decided.

Modes: ``blind`` (nothing of another coder is shown; stored under the
person's name), ``review`` (the machine coder's proposal is shown; the
person's decision is stored under ``<name>-review`` and the proposal is kept
apart in the store's ``app_decisions`` table, so that the person's blind
coding, the one compared with the machine, is never anchored by it) and
``adjudicate`` (two coders' codings of the units they differ on; the
decision is stored under the consensus coder with a reason).
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from coding.errors import CodingError
from coding.records import AUTOMATIC_CODERS, LEARNED, Coding, StrPath, content_hash

if TYPE_CHECKING:
    from coding.codebook import Code
    from coding.coders.learn import LearnedCoder

MODES = ("blind", "review", "adjudicate")
ORDERS = ("documents", "random", "active")
#: the source recorded for coders the app stores (``coding coders list`` shows them like any other)
SOURCE = "coding serve"
#: how long a writer waits for another's transaction before giving up (several people, one store)
BUSY_MS = 10_000
REVIEW_SUFFIX = "-review"
MAX_NAME = 80


@dataclass
class Options:
    """How the app was started: the defaults the first page offers."""

    coder: str = ""
    mode: str = "blind"
    order: str = "documents"
    n: int = 0  # units in the plan; 0: every unit (documents), 100 (random), 50 (active)
    seed: int = 0
    coders: tuple[str, ...] = ()  # the two coders to adjudicate
    consensus: str = "consensus"
    machine: str = ""  # the machine coder of review mode; "": coding.coders.coder_choice's default
    codebook: StrPath | None = None
    model: StrPath | None = None
    retrain_every: int = 20


class Workbench:
    """The app on one store: opens a store connection per thread, holds the
    codebook, the machine coder (loaded when review first needs it) and the
    desks of the people coding."""

    def __init__(self, store_path: StrPath, options: Options | None = None):
        from coding.store import Store

        self.path = Path(store_path)
        self.options = options or Options()
        self._local = threading.local()
        self._lock = threading.Lock()
        self.desks: dict[str, Desk] = {}
        self._machine = None
        with Store.open_existing(self.path) as store:
            version = store.current_codebook()
            if version is None:
                raise CodingError("the store holds no coding yet; run 'coding run' first", self.path)
            self.version: str = version
            self.codebook = store.codebook()
        check_choice(self.options.mode, MODES, "mode")
        check_choice(self.options.order, ORDERS, "order")

    def store(self):
        """This thread's connection to the store (SQLite connections stay in their thread)."""
        from coding.store import Store

        store = getattr(self._local, "store", None)
        if store is None:
            store = Store.open_existing(self.path)
            store.wait_when_busy(BUSY_MS)
            self._local.store = store
        return store

    def machine(self):
        """The machine coder of review mode, made by :func:`coding.coders.coder_choice.make_coder`."""
        with self._lock:
            if self._machine is None:
                from coding.coders.coder_choice import make_coder

                o = self.options
                named = {"name": o.machine} if o.machine else {}  # else the default coder, whichever it is
                coder, codebook = make_coder(**named, codebook=o.codebook, model=o.model)
                if codebook.version != self.version:
                    raise CodingError(f"the machine coder's codebook is version {codebook.version}, the store's "
                                      f"{self.version}: give the store's codebook (--codebook)")
                self._machine = coder
            return self._machine

    def codebook_view(self) -> dict:
        """The codebook as the page shows it: variables with their colour and
        codes with their number key, label, definition, include, exclude and examples."""
        from coding.codebook import variable_colours

        cb = self.codebook
        colours = variable_colours(cb.variable_ids, cb.settings.variable_colours)
        keys, variables = 0, []
        for var in cb.variables:
            codes: list[Code | None] = [*cb.codes_of(var.id)] or [None]  # a variable without codes is toggled itself
            entries = []
            for code in codes:
                keys += 1
                entries.append({"key": keys, "variable": var.id, "code": code.id if code else "",
                                "label": code.label if code else var.label,
                                "definition": code.definition if code else var.definition,
                                "include": code.include if code else var.include,
                                "exclude": code.exclude if code else var.exclude,
                                "examples": list(code.examples) if code else []})
            variables.append({"id": var.id, "label": var.label, "definition": var.definition,
                              "colour": colours.get(var.id, "#666666"), "codes": entries})
        return {"name": cb.name, "version": cb.version, "variables": variables}

    def open_desk(self, person: str, mode: str | None = None, order: str | None = None, n: int | None = None,
                  seed: int | None = None, coders: tuple[str, ...] | None = None) -> Desk:
        """A new desk for ``person`` (the options fill what is not given)."""
        o = self.options
        mode, order = mode or o.mode, order or o.order
        check_choice(mode, MODES, "mode")
        check_choice(order, ORDERS, "order")
        person = check_name(person)
        coders = tuple(coders or o.coders)
        store = self.store()
        coder = stored_name(person, mode, o.consensus)
        source = store.coder_source(coder)
        if source not in (None, SOURCE):
            raise CodingError(f"'{coder}' holds codings imported from {source or 'elsewhere'}; code under another name")
        if mode == "review":
            self.machine()  # a machine coder that cannot be made is said on the first page
        if mode == "adjudicate":
            plan = adjudication_plan(store, coders)
        else:
            size = n if n is not None else o.n
            plan = make_plan(store, order, size, o.seed if seed is None else seed)
        desk = Desk(self, person, coder, mode, order, plan, coders, seen=store.seen_units(coder, self.version))
        if order == "active" and mode != "adjudicate":
            desk.ranker = Ranker(self, size or 50, o.seed if seed is None else seed)
            desk.set_plan(desk.ranker.rank(store, desk.plan_seen()))
        with self._lock:
            self.desks[desk.id] = desk
        return desk


def check_choice(value: str, choices: tuple[str, ...], what: str) -> None:
    if value not in choices:
        raise CodingError(f"unknown {what} '{value}' (use one of: {', '.join(choices)})")


def check_name(person: str) -> str:
    """A person's name, stripped; automatic coders' names and empty or overlong names are refused."""
    name = " ".join(str(person or "").split())
    if not name:
        raise CodingError("name the person who codes (--coder or the first page)")
    if len(name) > MAX_NAME or "," in name:
        raise CodingError(f"a coder name is at most {MAX_NAME} characters, without commas", item=name[:MAX_NAME])
    if name in AUTOMATIC_CODERS:
        raise CodingError(f"'{name}' is an automatic coder; people code under their own names")
    return name


def stored_name(person: str, mode: str, consensus: str = "consensus") -> str:
    """The coder name a person's decisions are stored under in ``mode``."""
    if mode == "review":
        return person + REVIEW_SUFFIX
    if mode == "adjudicate":
        return consensus
    return person


def make_plan(store, order: str, n: int, seed: int) -> list[str]:
    """The unit ids to code: every unit in document order (the first ``n``
    when given), or a random sample of ``n`` (default 100) drawn with
    ``seed``, in document order. Active learning starts from every unit
    (the :class:`Ranker` orders them)."""
    units = store.unit_order()
    if order == "documents":
        return units[:n] if n else units
    if order == "random":
        import numpy as np

        rng = np.random.default_rng(seed)
        picked = rng.choice(len(units), size=min(n or 100, len(units)), replace=False)
        return [units[i] for i in sorted(picked)]
    return units


def adjudication_plan(store, coders: tuple[str, ...]) -> list[str]:
    """The units two coders both saw and coded differently, in document order."""
    from coding.agreement.audit import disagreements

    if len(coders) != 2:
        raise CodingError("adjudication needs the two coders whose codings differ (--coders A,B)")
    return list(disagreements(store, list(coders), "code")["unit_id"])


class Ranker:
    """Active learning for a desk: the units no person saw, ranked as
    ``coding suggest`` ranks them (the learned coder's least certain first,
    plus some at random), from a pool of at most ``POOL`` units drawn with
    the seed; the learned coder is trained again on people's codings in a
    background thread every ``retrain_every`` decisions."""

    POOL = 2_000

    def __init__(self, bench: Workbench, n: int, seed: int):
        self.bench, self.n, self.seed = bench, n, seed
        self.coder: LearnedCoder | None = None
        self.status = "ranked by the learned coder"
        self.decisions = 0
        self._thread: threading.Thread | None = None
        self.trained = 0

    def _coder(self):
        if self.coder is None:
            from coding.coders.coder_choice import make_coder

            o = self.bench.options
            self.coder, _ = make_coder(LEARNED, o.codebook, o.model)
        return self.coder

    def rank(self, store, keep: list[str]) -> list[str]:
        """``keep`` (units already decided at this desk) then the ranked units of the pool not in it."""
        import numpy as np

        from coding.coders.suggest import pick, uncertainty

        people_seen = set().union(*(store.seen_units(c) for c in store.coder_names() if c not in AUTOMATIC_CODERS))
        order = [u for u in store.unit_order() if u not in people_seen]
        rng = np.random.default_rng(self.seed)
        pool = sorted(rng.choice(len(order), size=min(self.POOL, len(order)), replace=False)) if order else []
        units = [store.unit_in_context(order[i], 0)[0] for i in pool]
        if not units:
            return list(keep)
        _, probs, thresholds = self._coder().probabilities(units)
        n_random = max(1, self.n // 5)
        chosen = pick(uncertainty(probs, thresholds), max(self.n - n_random, 0), n_random, self.seed)
        kept = set(keep)
        return list(keep) + [units[i].id for i in chosen if units[i].id not in kept]

    def decided(self, desk: Desk) -> None:
        """Count a decision; every ``retrain_every`` start retraining unless it runs already."""
        self.decisions += 1
        every = self.bench.options.retrain_every
        if every and self.decisions % every == 0 and not (self._thread and self._thread.is_alive()):
            self._thread = threading.Thread(target=self._retrain, args=(desk,), daemon=True)
            self._thread.start()

    def _retrain(self, desk: Desk) -> None:
        from coding.coders.learn import LearnedCoder, train
        from coding.coders.training import from_store

        store = self.bench.store()
        people = [c for c in store.coder_names() if c not in AUTOMATIC_CODERS and not c.endswith(REVIEW_SUFFIX)]
        try:
            examples = from_store(store, people)
            model = train(examples.units, examples.labels, examples.groups, self.bench.codebook,
                          coders=examples.coders)
            self.coder = LearnedCoder(model, self.bench.codebook)
            plan = self.rank(store, desk.plan_seen())
        except CodingError as exc:
            self.status = f"not retrained yet: {exc.message}"
            return
        self.trained += 1
        self.status = f"retrained on {len(examples.units)} units ({self.trained} time(s))"
        desk.set_plan(plan)


@dataclass
class Desk:
    """One person coding in one browser: the coder name decisions go to, the
    mode, and the plan of unit ids."""

    bench: Workbench
    person: str
    coder: str
    mode: str
    order: str
    plan: list[str]
    coders: tuple[str, ...] = ()
    seen: set[str] = field(default_factory=set)
    ranker: Ranker | None = None
    id: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        self.set_plan(self.plan)

    def set_plan(self, plan: list[str], seen: set[str] | None = None) -> None:
        """Put ``plan`` in place, with what is counted over it (once: a plan may hold every unit of the store)."""
        with self.lock:
            if seen is not None:
                self.seen = seen
            self.plan = plan
            self.planned = set(plan)
            self.coded = len(self.planned & self.seen)
            self._next = 0

    def plan_seen(self) -> list[str]:
        """The planned units this desk's coder decided already, in plan order."""
        return [u for u in self.plan if u in self.seen]

    def progress(self) -> dict:
        with self.lock:
            # the first undecided unit only moves forward (a decision never unmarks a unit)
            while self._next < len(self.plan) and self.plan[self._next] in self.seen:
                self._next += 1
            return {"coded": self.coded, "planned": len(self.plan), "next": self._next,
                    "status": self.ranker.status if self.ranker else ""}

    def describe(self) -> dict:
        machine = self.bench.machine().name if self.mode == "review" else ""
        return {"desk": self.id, "person": self.person, "coder": self.coder, "mode": self.mode,
                "order": self.order, "coders": list(self.coders), "machine": machine, **self.progress()}

    def view(self, index: int) -> dict:
        """What the page shows of the ``index``-th unit of the plan."""
        with self.lock:
            if not 0 <= index < len(self.plan):
                raise CodingError(f"no unit {index + 1} in a plan of {len(self.plan)}")
            unit_id = self.plan[index]
        store = self.bench.store()
        found = store.unit_in_context(unit_id)
        if found is None:
            raise CodingError("the unit is no longer in the store (the corpus changed)", item=unit_id)
        unit, doc, neighbours = found
        view = {"index": index, "unit_id": unit.id, "text": unit.text, "text_hash": content_hash(unit.text),
                "unit_type": unit.unit_type, "ordinal": unit.ordinal,
                "document": {"id": doc.id, "title": doc.title, "doc_type": doc.doc_type, "date": doc.date,
                             "speaker": doc.speaker},
                "before": [t for o, t in neighbours if o < unit.ordinal],
                "after": [t for o, t in neighbours if o > unit.ordinal],
                "mine": _pairs(store.unit_codings(unit.id, [self.coder], self.bench.version)),
                "decided": unit.id in self.seen, "reason": "", **self.progress()}
        previous = store.app_decision(self.coder, unit.id, self.bench.version)
        if previous:
            view["reason"] = previous[4]
        self._add_mode_view(view, unit, store)
        return view

    def _add_mode_view(self, view: dict, unit, store) -> None:
        if self.mode == "review":
            view["machine"] = self.proposal(unit)
            if not view["decided"]:
                view["mine"] = [[p["variable"], p["code"]] for p in view["machine"]]
        elif self.mode == "adjudicate":
            rows = store.unit_codings(unit.id, list(self.coders), self.bench.version)
            view["others"] = {c: _pairs([r for r in rows if r[0] == c]) for c in self.coders}
            if not view["decided"]:
                a, b = (set(map(tuple, view["others"][c])) for c in self.coders)
                view["mine"] = sorted(map(list, a & b))

    def proposal(self, unit) -> list[dict]:
        """The machine coder's codings of a unit: variable, code, probability
        (None when the coder gives none) and evidence spans in unit offsets."""
        out = []
        for c in self.bench.machine().code([unit]):
            spans = [{"start": e.start - unit.start, "end": e.end - unit.start, "term": e.term,
                      "pattern": e.pattern} for e in c.evidence if 0 <= e.start - unit.start <= len(unit.text)]
            out.append({"variable": c.variable, "code": c.code, "probability": c.probability, "evidence": spans})
        return out

    def decide(self, unit_id: str, items: list, text_hash: str, coder: str, reason: str = "") -> dict:
        """Store the decision on a unit of the plan: ``items`` are (variable,
        code) pairs; ``coder`` must be this desk's (another browser cannot
        write under someone else's name)."""
        if coder != self.coder:
            raise PermissionError(f"this page codes as '{self.coder}', not '{coder}'")
        if unit_id not in self.planned:
            raise CodingError("the unit is not in this plan", item=unit_id)
        reason = " ".join(str(reason or "").split())
        if self.mode == "adjudicate" and not reason:
            raise CodingError("give the reason for the decision")
        codings = self._codings(unit_id, items)
        proposer, proposal = "", "[]"
        if self.mode == "review":
            unit = self.bench.store().unit_in_context(unit_id, 0)
            proposer = self.bench.machine().name
            proposal = json.dumps([{k: p[k] for k in ("variable", "code", "probability")}
                                   for p in self.proposal(unit[0])], sort_keys=True) if unit else "[]"
        self.bench.store().save_decision(self.coder, unit_id, codings, text_hash, mode=self.mode,
                                         person=self.person, proposer=proposer, proposal=proposal,
                                         reason=reason, source=SOURCE)
        with self.lock:
            if unit_id not in self.seen:
                self.seen.add(unit_id)
                self.coded += 1
        if self.ranker:
            self.ranker.decided(self)
        return self.progress()

    def _codings(self, unit_id: str, items: list) -> list[Coding]:
        cb = self.bench.codebook
        pairs = sorted({(str(v), str(c)) for v, c in items})
        for variable, code in pairs:
            known = (code in cb.code_ids and cb.code(code).variable == variable) if code else \
                variable in cb.variable_ids
            if not known:
                raise CodingError(f"not a code of the codebook: {variable}/{code}", item=unit_id)
        return [Coding(unit_id, code, variable, self.coder, self.bench.version) for variable, code in pairs]

    def summary(self) -> dict:
        """What the done page shows: progress, decisions by mode, codings,
        and the other coders agreement can be computed against."""
        store = self.bench.store()
        others = [c for c in store.coder_names() if c != self.coder]
        counts = {name: (units, codings) for name, units, codings in store.coders()}
        units, codings = counts.get(self.coder, (0, 0))
        report = self.bench.path.parent / "report.html"
        return {**self.describe(), "units": units, "codings": codings,
                "modes": store.app_decision_counts(self.coder), "others": others,
                "store": str(self.bench.path), "report": report.is_file()}


def _pairs(rows) -> list[list[str]]:
    """[variable, code] of (coder, variable, code, evidence) rows."""
    return [[r[1], r[2]] for r in rows]


def agreement_rows(bench: Workbench, coders: list[str]) -> list[dict]:
    """The agreement table of ``coders`` (variable level) as the done page shows it."""
    from coding.agreement.audit import audit_agreement

    table = audit_agreement(bench.store(), coders, "variable", n_resamples=200)
    rows = []
    for r in table.itertuples():
        rows.append({"item": r.item, "n_units": int(r.n_units), "percent_agreement": _number(r.percent_agreement),
                     "alpha": _number(r.krippendorff_alpha), "reading": r.reading})
    return rows


def _number(value) -> float | None:
    return None if value is None or value != value else round(float(value), 3)
