"""A codebook item as the ``Description`` of a REFI-QDA code, and back.

QDA-XML gives a code one free text. The export writes the definition first,
then, as paragraphs a person can read in any QDA program, what else the
codebook says of the item: ``Include:`` and ``Exclude:`` notes, and lists of
examples, counterexamples and patterns (one ``- item`` a line). Reading
splits such a text back, so that the codebook survives its own ``.qdc`` round
trip; a description from another program is all definition.
"""

from __future__ import annotations

import re

#: (key in the codebook, heading in the description) of the notes, then of the lists.
NOTES = (("include", "Include"), ("exclude", "Exclude"))
LISTS = (("examples", "Examples"), ("counterexamples", "Counterexamples"), ("patterns", "Patterns"),
         ("exclude_patterns", "Exclude patterns"), ("context_patterns", "Context patterns"))
_HEADINGS = {h: k for k, h in NOTES + LISTS}
_SPLIT = re.compile(r"\n\s*\n(?=(?:" + "|".join(re.escape(h) for h in _HEADINGS) + r"):)")


def compose(item) -> str:
    """The description of a codebook variable or code."""
    parts = [item.definition.strip()]
    parts += [f"{h}: {getattr(item, k).strip()}" for k, h in NOTES if getattr(item, k, "").strip()]
    for key, heading in LISTS:
        values = getattr(item, key, ())
        if values:
            parts.append(f"{heading}:\n" + "\n".join(f"- {' '.join(v.split())}" for v in values))
    return "\n\n".join(p for p in parts if p)


def split(description: str) -> dict[str, object]:
    """The parts of a description: ``definition`` and notes as text, lists as
    lists of strings; parts it does not have are left out."""
    out: dict[str, object] = {}
    for part in _SPLIT.split(description.strip()):
        heading, sep, rest = part.partition(":")
        key = _HEADINGS.get(heading) if sep else None
        if key is None:
            out["definition"] = " ".join(part.split())
        elif key in dict(LISTS):
            out[key] = [line.strip()[2:].strip() for line in rest.splitlines() if line.strip().startswith("- ")]
        else:
            out[key] = " ".join(rest.split())
    return out
