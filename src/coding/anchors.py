"""A person's coding stays on the text it was made on.

Every unit a coder file names is anchored: its document, its offsets and a
hash of its text (:func:`text_hash`). The coder files this program writes
carry these as columns (:data:`FINGERPRINT_COLUMNS`); an import places each
row on the unit whose text has that hash -- the unit of the same id when its
text is unchanged, else the unit of the same document with that text nearest
to the old offsets -- and keeps the rows whose text is gone aside as orphans,
with the old text. A row is never put on other text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from coding.store import Store

#: Columns that anchor each row of a coder file this program writes (with unit_id and text).
FINGERPRINT_COLUMNS = ("document_id", "start", "end", "text_hash")


def text_hash(text: str) -> str:
    """The fingerprint of a unit's text: the first 16 hex digits of the
    SHA-256 of its words joined by single spaces (sheets show the text with
    whitespace collapsed, and a spreadsheet may change line ends)."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def fingerprint(document_id: str, start: int, end: int, text: str) -> list:
    """The :data:`FINGERPRINT_COLUMNS` of a unit, in order."""
    return [document_id, start, end, text_hash(text)]


@dataclass(frozen=True)
class Anchor:
    """What a unit id of a coder file meant when the coder coded it."""

    document_id: str
    start: int
    end: int
    text_hash: str
    text: str = ""


@dataclass
class Placement:
    """Where the units of a coder file go now."""

    #: unit id in the file -> id of the unit with that text now
    units: dict[str, str]
    #: unit id in the file -> its anchor, for units whose text is no longer there
    orphans: dict[str, Anchor]
    #: unit ids with no anchor and no unit of that id
    unknown: list[str]


def place(anchors: dict[str, Anchor | None], store: Store, segmentation: str) -> Placement:
    """Place the units of a coder file (unit id -> its anchor, None for a
    row read by id alone) on the store's units of ``segmentation``."""
    current = store.units_by_ids(anchors, segmentation)
    units: dict[str, str] = {}
    # units that kept their id and text first, so that a moved one never takes their place
    for uid, anchor in anchors.items():
        now = current.get(uid)
        if now is not None and (anchor is None or text_hash(now[3]) == anchor.text_hash):
            units[uid] = uid
    taken = set(units.values())
    orphans: dict[str, Anchor] = {}
    unknown: list[str] = []
    documents: dict[str, list[tuple[str, int, str]]] = {}
    for uid, anchor in anchors.items():
        if uid in units:
            continue
        if anchor is None:
            unknown.append(uid)
            continue
        if anchor.document_id not in documents:
            documents[anchor.document_id] = [(u, start, text_hash(text)) for u, start, _end, text
                                             in store.document_units(anchor.document_id, segmentation)]
        same = [(abs(start - anchor.start), u) for u, start, h in documents[anchor.document_id]
                if h == anchor.text_hash and u not in taken]
        if same:
            units[uid] = min(same)[1]
            taken.add(units[uid])
        else:
            orphans[uid] = anchor
    return Placement(units, orphans, sorted(unknown))
