"""Train the learned coder that ships inside the package.

    python scripts/train_model.py [--real ../shared/real-texts] [--out src/coding/models/learned.json]

What it learns from:

* the real published paragraphs beside the project (``../shared/real-texts``,
  read where they lie; labels: ``evaluation/real/consensus.csv``), grouped
  by page: the text the coder is meant for, at full weight, and the only
  units the cross-validation tests on;
* as extra training units at a tenth of the weight (:data:`coding.coders.learn.EXTRA_WEIGHT`):
  the thesis paragraphs coded by a person (``corpus/coders/human-1.csv`` and
  ``evaluation/heldout/holdout-1.csv``, grouped by document) and the
  news-style texts the project wrote (``evaluation/news*/``, each text its
  own group).

It prints the grouped cross-validation on the real set (dictionary coder,
learned coder on words, learned coder as shipped) and writes the model with
those figures in it. The same inputs give a byte-identical model file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def thesis_examples(codebook):
    """Thesis paragraphs a person coded, grouped by document."""
    from coding.coder_files import read_coder_file
    from coding.coders.training import Examples, labels_of
    from coding.corpus import iter_documents
    from coding.segment import segment

    units = {u.id: u for d in iter_documents(REPO / "corpus") for u in segment(d)}
    examples = Examples()
    for path in (REPO / "corpus" / "coders" / "human-1.csv", REPO / "evaluation" / "heldout" / "holdout-1.csv"):
        seen, codings = read_coder_file(path, codebook, set(units), path.stem)
        labels = labels_of(seen, codings)
        chosen = [units[u] for u in seen]
        examples = examples + Examples(chosen, labels, {u.id: u.document_id for u in chosen},
                                       [str(path.relative_to(REPO))], [path.stem])
    return examples


def written_examples(codebook):
    """The news-style texts the project wrote, with their reader's labels."""
    from coding.coders.training import Examples, from_table

    examples = Examples()
    for folder in sorted((REPO / "evaluation").glob("news*")):
        part = from_table(folder / "units.jsonl", folder / "coder-1.csv", codebook, f"{folder.name}-reader")
        part.sources = [str((folder / "units.jsonl").relative_to(REPO))]
        examples = examples + part
    return examples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", default=str(REPO.parent / "shared" / "real-texts"))
    parser.add_argument("--out", default=str(REPO / "src" / "coding" / "models" / "learned.json"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from coding.cli import format_cv
    from coding.codebook import load_codebook
    from coding.coders.training import from_table, learn

    codebook = load_codebook(REPO / "codebook.yaml")
    real = from_table(Path(args.real) / "units.jsonl", REPO / "evaluation" / "real" / "consensus.csv",
                      codebook, "consensus")
    real.sources = ["real-texts/units.jsonl (evaluation/real/sources.csv)"]
    extra = thesis_examples(codebook) + written_examples(codebook)
    model, cv = learn(real, codebook, args.out, extra=extra, repeats=args.repeats)
    print(f"real set: {len(real.units)} units from {len(set(real.groups.values()))} pages; extra: "
          f"{len(extra.units)} units at weight {model.training['weights']}")
    print(format_cv(cv))
    print(f"wrote {args.out} (model {model.sha256[:12]}, codebook {model.codebook_version})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
