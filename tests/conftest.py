"""Shared fixtures: a tiny corpus and codebook written into a temporary folder."""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import struct
import textwrap
import zlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

TINY_CODEBOOK = textwrap.dedent(r"""
    name: tiny
    description: a codebook for tests
    settings:
      mask_patterns:
        - '\([^()]*\b(?:1[89]\d\d|20\d\d|n\.d\.)[a-z]?\)'
    variables:
      - id: economic
        label: Economic
        definition: economic matters
      - id: strategic
        label: Strategic
        definition: strategic matters
      - id: regional_security
        label: Regional security
        definition: security of the region
    codes:
      - id: energy
        label: Energy
        variable: economic
        definition: energy supply and deals
        examples: ["Gas pipelines were planned."]
        counterexamples: ["Nuclear weapons were tested."]
        patterns: [gas, pipeline, nuclear power, "re:\\bLNG\\b"]
        exclude_patterns: [gas chamber]
      - id: trade
        label: Trade
        variable: economic
        definition: trade and investment
        patterns: [trade, investment, export]
      - id: defence
        label: Defence cooperation
        variable: strategic
        definition: military cooperation
        examples: ["They held joint exercises."]
        patterns: [joint exercise, defence agreement, nuclear weapon, helicopter]
      - id: terrorism
        label: Terrorism
        variable: regional_security
        definition: terrorism and militancy
        patterns: [terrorism, militant, Pak-Afghan border]
""")

DOCS = {
    "a": ("Doc A", "thesis_chapter", "2020", ("Gas pipelines and trade grew.\n\n"
          "Militants crossed the Pak Afghan border and joint exercises followed.\n\n"
          "Nothing to see here (Trade Review, 2019).\n")),
    "b": ("Doc B", "official_statement", "2021-05-02", ("The minister said exports\n\nrose by ten percent.\n\n"
          "Helicopters were sold. Terrorism fell.\n")),
}


def write_corpus(root: Path, docs=DOCS) -> Path:
    corpus = root / "corpus"
    (corpus / "docs").mkdir(parents=True, exist_ok=True)
    rows = ["id,title,doc_type,date,source,path"]
    for doc_id, (title, doc_type, date, text) in docs.items():
        (corpus / "docs" / f"{doc_id}.txt").write_text(text, encoding="utf-8")
        rows.append(f"{doc_id},{title},{doc_type},{date},src {doc_id},docs/{doc_id}.txt")
    (corpus / "manifest.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return corpus


def run_tiny(root: Path) -> Path:
    """Write the tiny corpus and codebook under ``root`` and run ``coding run``
    on them now (for tests of what the run itself does); return the store's path."""
    from coding.jobs import pipeline

    corpus = write_corpus(root)
    (root / "codebook.yaml").write_text(TINY_CODEBOOK, encoding="utf-8")
    pipeline.run(corpus, root / "codebook.yaml", root / "out", progress=False)
    return root / "out" / "project.sqlite"


def coded_tiny(root: Path) -> Path:
    """Write the tiny corpus and codebook under ``root``, code them with
    ``coding run`` (report included, in ``root/out``) and return the project
    store's path. The run is made once per test process and copied: use
    :func:`run_tiny` where the run itself is under test."""
    prepared("coded-tiny", run_tiny, root)
    return root / "out" / "project.sqlite"


# -- prepared folders: an expensive result made once, each test gets its own copy

_PREPARED: dict[str, Path] = {}
_FACTORY: list[pytest.TempPathFactory] = []


@pytest.fixture(scope="session", autouse=True)
def _prepared_folders_home(tmp_path_factory):
    """Where :func:`prepared` keeps its folders (pytest's temporary base, cleaned as usual)."""
    _FACTORY.append(tmp_path_factory)
    yield
    _FACTORY.remove(tmp_path_factory)
    _PREPARED.clear()


def prepared(name: str, build, dest: Path) -> Path:
    """Copy into ``dest`` the folder that ``build(folder)`` fills, building it
    once per test process under ``name`` (a copy keeps files' bytes, modes and
    times, so a test may change its copy freely). ``build`` must not depend on
    the calling test (its monkeypatches, its current folder). Outside pytest it
    builds in ``dest`` directly."""
    if not _FACTORY:
        dest.mkdir(parents=True, exist_ok=True)
        build(dest)
        return dest
    if name not in _PREPARED:
        folder = _FACTORY[-1].mktemp(f"prepared-{name}", numbered=True)
        with _rendered_figures():  # the same folder whichever test asks first
            build(folder)
        _PREPARED[name] = folder
    shutil.copytree(_PREPARED[name], dest, dirs_exist_ok=True)
    return dest


@pytest.fixture
def tiny(tmp_path):
    """(corpus dir, codebook path, out dir) of a two-document project."""
    corpus = write_corpus(tmp_path)
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text(TINY_CODEBOOK, encoding="utf-8")
    return corpus, codebook, tmp_path / "out"


@pytest.fixture(scope="session")
def shipped_run(tmp_path_factory):
    """``coding run`` of the shipped corpus and codebook (report included), made
    once per test session, shared by pytest-xdist's workers: (outputs
    folder, RunSummary). Copy the folder before changing anything in it."""
    from coding.jobs import pipeline

    try:
        import fcntl
    except ImportError:  # not POSIX: each process makes its own
        fcntl = None
    if fcntl is None or not os.environ.get("PYTEST_XDIST_WORKER"):
        out = tmp_path_factory.mktemp("shipped-run")
        with _rendered_figures():
            return out, pipeline.run(REPO / "corpus", REPO / "codebook.yaml", out, progress=False)
    # the workers' temporary folders share a parent: the first worker runs, the others wait for it
    shared = tmp_path_factory.getbasetemp().parent
    out, summary = shared / "shipped-run", shared / "shipped-run.pickle"
    with open(shared / "shipped-run.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not summary.exists():
            with _rendered_figures():
                summary.write_bytes(pickle.dumps(pipeline.run(REPO / "corpus", REPO / "codebook.yaml", out,
                                                              progress=False)))
    return out, pickle.loads(summary.read_bytes())


# -- figures rendered where a test looks at them

def _png_of_one_pixel() -> bytes:
    """A valid PNG of one white pixel."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)  # 1 x 1, 8-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff")) + \
        chunk(b"IEND", b"")


_ONE_PIXEL = _png_of_one_pixel()
_RENDER: list = []  # the report's own renderer, taken before any test replaces it


def _figures():
    from coding.reports import figures  # imported when first needed: matplotlib takes seconds

    if not _RENDER:
        _RENDER.append(figures._png)
    return figures


def _unrendered(fig) -> bytes:
    import matplotlib.pyplot as plt

    plt.close(fig)
    return _ONE_PIXEL


@contextlib.contextmanager
def _rendered_figures():
    """Within: report figures are rendered (see :func:`_figures_rendered_where_looked_at`)."""
    figures = _figures()
    stubbed, figures._png = figures._png, _RENDER[0]
    try:
        yield
    finally:
        figures._png = stubbed


@pytest.fixture(autouse=True)
def _figures_rendered_where_looked_at(request, monkeypatch):
    """Rendering a report's figures to PNG (matplotlib's layout and
    rasterizing) is about two-thirds of building a report on the tiny corpus.
    Tests marked ``figures`` render them; elsewhere every figure is still
    built from the tables by the report's own code, and only its rendering is
    replaced by a PNG of one pixel."""
    figures = _figures()
    if request.node.get_closest_marker("figures") is None:
        monkeypatch.setattr(figures, "_png", _unrendered)
