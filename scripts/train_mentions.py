"""Train the mention coder that ships inside the package.

    python scripts/train_mentions.py [--real ../shared/real-texts] [--out src/coding/models/mentions.npz]

It learns from every labelled unit the protocol of ``scripts/evaluate_mentions.py``
tests on: the real published paragraphs beside the project (read where they
lie; labels from their readers, see :func:`coding.coders.mention_labels.load_real_texts`)
and the thesis paragraphs a person coded. Every setting is chosen by
leave-one-collection-out over those six collections, as inside each fold of
the protocol. The model file holds the vocabulary of features and the
weights only; the same inputs give a byte-identical file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # beside evaluate_mentions.py


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", default=str(REPO.parent / "shared" / "real-texts"))
    parser.add_argument("--out", default=str(REPO / "src" / "coding" / "models" / "mentions.npz"))
    args = parser.parse_args(argv)
    from evaluate_mentions import real_training_set

    from coding.coders.mention_labels import THESIS_CODER_FILES
    from coding.coders.mention_training import fit, to_model
    from coding.coders.mentions import save_model

    data = real_training_set(args.real)
    if data is None:
        return 0
    cb, units, d = data
    codes = [c.id for c in cb.codes]
    fitted = fit(d, units, np.arange(len(units)), codes, variable_of={c.id: c.variable for c in cb.codes})
    counts = {c: sum(u.collection == c for u in units) for c in sorted({u.collection for u in units})}
    training = {"units": len(units), "collections": counts,
                "sources": ["real-texts/units.jsonl (evaluation/real/sources.csv)", *THESIS_CODER_FILES],
                # the people whose codings it learned from: its agreement with them is in-sample
                "coders": sorted(Path(name).stem for name in THESIS_CODER_FILES)}
    model = to_model(d, fitted, cb, training)
    digest = save_model(model, args.out)
    for code in codes:
        print(f"  {code}: {fitted.chosen[code]}")
    for v, m in sorted(fitted.se_margins.items()):
        lead = fitted.margins.get(v)
        print(f"  {v}: learnt options needed a lead of {m:g} standard errors over the dictionary; "
              + ("its codes had none" if lead is None else f"they had {lead:.2f}"))
    print(f"wrote {args.out}: {len(model.vocabulary)} features x {len(codes)} codes (model {digest[:12]}, "
          f"codebook {cb.version})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
