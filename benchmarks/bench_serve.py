"""How fast the coding app answers on a large store.

A store of ``--units`` units (default 100,000: 1,000 documents of 100
paragraphs of generated words, stored without any coding) is made in a
temporary folder with the store's own writer; ``coding serve`` is started on
it as its own process, as a person would start it, and a client on the same
machine (one HTTP connection, as a browser keeps it) measures:

* opening the first unit: from the first page's request for the setup (the
  codebook) through starting a desk (the plan of every unit in document
  order, or a random sample of ``--sample`` units) to the first unit in its
  document; the first time after start-up, then the median of ``--repeat``
  more people starting;
* saving a decision: the round trip of one decision (its own transaction:
  codings, the unit marked seen, the decision's record), median and 95th
  percentile over ``--decisions`` decisions, each followed by the next
  unit's request as the page makes it (timed apart).

Targets: the first unit in under 1 s, a decision saved in under 50 ms
(median). Prints the figures and the machine's load average.

    python benchmarks/bench_serve.py
    python benchmarks/bench_serve.py --units 20000 --decisions 100
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

CODEBOOK = """\
name: bench
description: a codebook for the app benchmark
variables:
  - {id: economic, label: Economic, definition: economic matters}
  - {id: strategic, label: Strategic, definition: strategic matters}
codes:
  - {id: trade, label: Trade, variable: economic, definition: trade, patterns: [trade]}
  - {id: energy, label: Energy, variable: economic, definition: energy, patterns: [gas]}
  - {id: defence, label: Defence, variable: strategic, definition: defence, patterns: [exercise]}
"""
WORDS = ("trade gas pipeline minister border talks visit agreement corridor port exercise summit forum rail "
         "wheat textile loan market energy security region dialogue meeting delegation project").split()


def make_store(folder: Path, n_units: int, per_document: int = 100) -> Path:
    """A store of ``n_units`` paragraphs of generated words, no codings."""
    from coding.codebook import parse_codebook
    from coding.records import Document, Unit, content_hash
    from coding.store import Store

    rng = random.Random(7)
    codebook = parse_codebook(CODEBOOK, str(folder / "codebook.yaml"))
    (folder / "codebook.yaml").write_text(CODEBOOK, encoding="utf-8")
    path = folder / "out" / "project.sqlite"
    with Store(path) as store:
        store.save_codebook(codebook)
        store.set_current_codebook(codebook.version)
        store.set_segmentation("paragraph")
        for d in range(0, n_units, per_document):
            paragraphs = [" ".join(rng.choices(WORDS, k=rng.randint(25, 70))).capitalize() + "."
                          for _ in range(min(per_document, n_units - d))]
            text = "\n\n".join(paragraphs)
            doc = Document(id=f"d{d // per_document:05d}", title=f"Document {d // per_document}", doc_type="news",
                           date="2020-01-01", source="generated", path="", text=text, content_hash=content_hash(text))
            units, at = [], 0
            for i, p in enumerate(paragraphs, start=1):
                units.append(Unit(f"{doc.id}:p{i:04d}", doc.id, i, "paragraph", at, at + len(p), p))
                at += len(p) + 2
            store.save_document(doc, d // per_document, "paragraph", units, [], "auto", codebook.version)
    return path


def start_server(store: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "coding.cli", "serve", "--store", str(store), "--no-browser"],
                            cwd=store.parent.parent, env=env, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    return proc, line[line.index("http://"):].split()[0]


class Client:
    """One kept-alive connection, as the page's fetches use."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.token = parts.query.split("token=")[1]
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port)
        self.desk = ""
        self.coder = ""

    def call(self, method: str, path: str, body=None) -> dict:
        headers = {"X-Token": self.token, "X-Desk": self.desk, "Content-Type": "application/json"}
        self.conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = self.conn.getresponse()
        data = json.loads(response.read())
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status} {data}")
        return data


def open_first_unit(client: Client, person: str, order: str, n: int) -> tuple[float, dict]:
    start = time.perf_counter()
    client.call("GET", "/api/setup")
    desk = client.call("POST", "/api/desk", {"person": person, "order": order, "n": n, "seed": 1})
    client.desk, client.coder = desk["desk"], desk["coder"]
    unit = client.call("GET", f"/api/unit?index={desk['next']}")
    return time.perf_counter() - start, unit


def decisions(client: Client, unit: dict, count: int) -> tuple[list[float], list[float]]:
    saves, loads = [], []
    for i in range(count):
        items = [["economic", "trade"]] if i % 3 == 0 else []
        start = time.perf_counter()
        progress = client.call("POST", "/api/decision", {"unit_id": unit["unit_id"], "items": items,
                                                         "text_hash": unit["text_hash"], "coder": client.coder})
        saves.append(time.perf_counter() - start)
        assert progress["coded"] == i + 1
        if unit["index"] + 1 == progress["planned"]:
            break
        start = time.perf_counter()
        unit = client.call("GET", f"/api/unit?index={unit['index'] + 1}")
        loads.append(time.perf_counter() - start)
    return saves, loads


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--units", type=int, default=100_000)
    ap.add_argument("--decisions", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--sample", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        store = make_store(Path(tmp), args.units)
        print(f"store of {args.units:,} units made in {time.perf_counter() - start:.1f} s "
              f"({store.stat().st_size / 1e6:.0f} MB); load average {os.getloadavg()[0]:.2f}")
        proc, url = start_server(store)
        try:
            for order, n in (("documents", 0), ("random", args.sample)):
                report(url, order, n, args)
        finally:
            proc.terminate()
            proc.wait()


def report(url: str, order: str, n: int, args) -> None:
    first = []
    for k in range(1 + args.repeat):
        client = Client(url)
        seconds, unit = open_first_unit(client, f"{order}-{k}", order, n)
        first.append(seconds)
    saves, loads = decisions(client, unit, min(args.decisions, n or args.decisions))
    ms = [s * 1000 for s in saves]
    print(f"{order} order ({n or args.units:,} planned): first unit {first[0] * 1000:.0f} ms after start-up, "
          f"median {statistics.median(first[1:]) * 1000:.0f} ms of {args.repeat} more (target < 1,000 ms)")
    print(f"  save a decision: median {statistics.median(ms):.1f} ms, 95th percentile "
          f"{statistics.quantiles(ms, n=20)[-1]:.1f} ms over {len(ms)} (target median < 50 ms); next unit: "
          f"median {statistics.median(loads) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
