"""Settle the two readers of the real published texts into a consensus, with
the project's own tools, and measure the third reader against it.

The texts stay where they lie (``../shared/real-texts/``, not ours to
redistribute): this script builds a throw-away corpus from them in a
temporary folder, runs ``coding run`` there, imports ``reader-a`` and
``reader-b``, writes the adjudication sheet with ``coding reconcile``, fills
its decisions from ``evaluation/real/decisions.csv`` (one row per disputed
unit and variable, with the reason), imports the settled sheet as coder
``consensus`` and writes what the project keeps:

* ``evaluation/real/sources.csv``: id, url, date of every paragraph;
* ``evaluation/real/consensus.csv``: unit_id and 0/1 per variable.

It then prints Krippendorff's alpha, per variable, of the readers with each
other, and of ``reader-c`` (code-level labels in ``evaluation/real/reader-c.csv``,
taken to the variable level) with the consensus.

    python scripts/real_texts.py [--real ../shared/real-texts]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HERE = REPO / "evaluation" / "real"
VARIABLES = ("economic", "strategic", "regional_security")


def load_units(real: Path) -> list[dict]:
    with open(real / "units.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def build_corpus(units: list[dict], root: Path) -> Path:
    """One document per paragraph; its single unit is ``<id>:p0001``."""
    corpus = root / "corpus"
    (corpus / "texts").mkdir(parents=True)
    with open(corpus / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "title", "doc_type", "date", "source", "path"])
        for u in units:
            (corpus / "texts" / f"{u['id']}.txt").write_text(u["text"] + "\n", encoding="utf-8")
            w.writerow([u["id"], u["id"], "real_text", u.get("date") or "", u["url"], f"texts/{u['id']}.txt"])
    return corpus


def reader_file(real: Path, name: str, root: Path) -> Path:
    """A reader's wide file with the corpus's unit ids."""
    out = root / f"{name}.csv"
    with open(real / f"{name}.csv", newline="", encoding="utf-8") as src, \
            open(out, "w", newline="", encoding="utf-8") as dst:
        w = csv.writer(dst)
        for i, row in enumerate(csv.reader(src)):
            w.writerow(row if i == 0 else [f"{row[0]}:p0001", *row[1:]])
    return out


def fill_sheet(sheet: Path) -> Path:
    """The adjudication sheet with the recorded decisions; every disputed
    item must have one."""
    with open(HERE / "decisions.csv", newline="", encoding="utf-8") as fh:
        decided = {(f"{r['unit_id']}:p0001", r["item"]): r["decision"] for r in csv.DictReader(fh)}
    with open(sheet, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    missing = [f"{r['unit_id']} {r['item']}" for r in rows if (r["unit_id"], r["item"]) not in decided]
    if missing:
        sys.exit(f"no decision in evaluation/real/decisions.csv for: {', '.join(missing)}")
    for r in rows:
        r["decision"] = decided[(r["unit_id"], r["item"])]
    filled = sheet.with_name("settled.csv")
    with open(filled, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return filled


def write_kept(units: list[dict], store) -> None:
    """sources.csv and consensus.csv: the project's own record of the set."""
    with open(HERE / "sources.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["id", "url", "date"])
        w.writerows([u["id"], u["url"], u.get("date") or ""] for u in units)
    seen, coded = store.coder_items("consensus", "variable")
    with open(HERE / "consensus.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["unit_id", *VARIABLES])
        for u in units:
            uid = f"{u['id']}:p0001"
            w.writerow([u["id"], *(int((uid, v) in coded) for v in VARIABLES)])


def print_agreement(store) -> None:
    from coding.agreement.audit import audit_agreement

    for coders in (["reader-a", "reader-b"], ["consensus", "reader-c"]):
        table = audit_agreement(store, coders, "variable", n_resamples=200)
        figures = ", ".join(f"{r.item} {r.krippendorff_alpha:.3f} (n={r.n_units})" for r in table.itertuples())
        print(f"{' vs '.join(coders)}: alpha {figures}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", default=str(REPO.parent / "shared" / "real-texts"))
    args = parser.parse_args()
    real = Path(args.real)
    from coding.cli import main as coding
    from coding.coder_files import import_coder
    from coding.store import Store

    units = load_units(real)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        corpus, out = build_corpus(units, root), root / "out"
        argv = ["--codebook", str(REPO / "codebook.yaml")]
        assert coding(["run", "--corpus", str(corpus), "--out", str(out), *argv]) in (0, 1)
        store_path = str(out / "project.sqlite")
        for name in ("reader-a", "reader-b"):
            coding(["coders", "import", str(reader_file(real, name, root)), "--coder", name, "--store", store_path])
        sheet = root / "sheet.csv"
        coding(["reconcile", "--coders", "reader-a,reader-b", "--out", str(sheet), "--store", store_path])
        coding(["coders", "import", str(fill_sheet(sheet)), "--coder", "consensus", "--store", store_path])
        with Store(store_path) as store:
            # the settled sheet covers the disputed units; on every other unit the readers agree
            seen_a, coded_a = store.coder_items("reader-a", "variable")
            disputed, settled = store.coder_items("consensus", "variable")
            pairs = sorted(settled | {(u, v) for u, v in coded_a if u not in disputed})
            full = root / "consensus-full.csv"
            with open(full, "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(["unit_id", "variable"])
                w.writerows(pairs + [(u, "") for u in sorted(seen_a)])
            import_coder(store, full, "consensus")
            reader_c = root / "reader-c.csv"
            with open(HERE / "reader-c.csv", newline="", encoding="utf-8") as src, \
                    open(reader_c, "w", newline="", encoding="utf-8") as dst:
                w = csv.writer(dst)
                w.writerow(["unit_id", "code"])
                w.writerows([f"{r['unit_id']}:p0001", r["code"]] for r in csv.DictReader(src))
            import_coder(store, reader_c, "reader-c")
            write_kept(units, store)
            print_agreement(store)
    print(f"wrote {HERE / 'sources.csv'} and {HERE / 'consensus.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
