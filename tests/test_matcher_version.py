"""The dictionary matcher's version: derived from what decides the matcher's
output (its modules' code, the lemma table's, regex engine's and automaton's
package versions, the Unicode data), the same in every process, and a new
version recodes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import coding
from coding.codebook import load_codebook
from coding.coders import dictionary
from coding.coders.dictionary import MATCHER_VERSION, DictionaryCoder, matcher_version, version_of
from coding.jobs import pipeline
from coding.records import AUTO
from coding.store import Store

SOURCES = [b"def match(text):\n    return {}\n", b"FOLD = '-'\n"]
PACKAGES = {"regex": "2024.11.6", "spacy-lookups-data": "1.0.5", "pyahocorasick": "2.1.0"}


def test_the_same_inputs_give_the_same_version():
    base = version_of(SOURCES, PACKAGES)
    assert re.fullmatch(r"[0-9a-f]{12}", base)
    assert version_of(list(SOURCES), dict(reversed(PACKAGES.items()))) == base
    # a checkout with Windows line ends is the same code
    assert version_of([s.replace(b"\n", b"\r\n") for s in SOURCES], PACKAGES) == base


def test_a_change_of_any_input_changes_the_version():
    base = version_of(SOURCES, PACKAGES)
    changed = [
        version_of([SOURCES[0] + b"# one more line\n", SOURCES[1]], PACKAGES),
        version_of([SOURCES[0].replace(b"{}", b"[]"), SOURCES[1]], PACKAGES),
        version_of(SOURCES[::-1], PACKAGES),
        version_of([SOURCES[0] + SOURCES[1]], PACKAGES),  # where one module ends counts
        version_of(SOURCES, {**PACKAGES, "regex": "2024.11.7"}),
        version_of(SOURCES, {**PACKAGES, "spacy-lookups-data": "1.0.6"}),
        version_of(SOURCES, {**PACKAGES, "unicodedata": "15.1.0"}),
    ]
    assert base not in changed and len(set(changed)) == len(changed)


def test_the_coders_version_is_the_codebook_and_the_derived_matcher_version(tiny):
    _, codebook, _ = tiny
    cb = load_codebook(codebook)
    assert matcher_version() == MATCHER_VERSION
    assert re.fullmatch(r"[0-9a-f]{12}", MATCHER_VERSION)
    assert DictionaryCoder(cb).version == f"{cb.version}+m{MATCHER_VERSION}"


def _version_in_a_process(src: Path, cwd: Path, seed: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONHASHSEED": seed}
    code = "from coding.coders.dictionary import MATCHER_VERSION; print(MATCHER_VERSION)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=cwd, env=env)
    return out.stdout.strip()


def test_the_version_is_stable_across_processes_and_follows_the_matchers_code(tmp_path):
    src = Path(coding.__file__).resolve().parents[1]
    copy = tmp_path / "src"
    shutil.copytree(src / "coding", copy / "coding", ignore=shutil.ignore_patterns("__pycache__", "models"))
    # another process, another hash seed, another folder, a copy of the same code: the same version
    assert _version_in_a_process(copy, tmp_path, "1") == MATCHER_VERSION
    assert _version_in_a_process(src, copy, "2") == MATCHER_VERSION
    # an edit of the prefilter (nobody touches a version number) gives another version
    prefilter = copy / "coding" / "coders" / "prefilter.py"
    prefilter.write_text(prefilter.read_text(encoding="utf-8").replace("MAX_LITERALS = 4", "MAX_LITERALS = 5"),
                         encoding="utf-8")
    assert _version_in_a_process(copy, tmp_path, "1") != MATCHER_VERSION


def test_a_new_matcher_version_recodes(tiny, monkeypatch):
    corpus, codebook, out = tiny
    pipeline.run(corpus, codebook, out, progress=False, report=False)
    assert pipeline.run(corpus, codebook, out, progress=False, report=False).coded_documents == 0
    monkeypatch.setattr(dictionary, "matcher_version", lambda: "0123456789ab")
    assert pipeline.run(corpus, codebook, out, progress=False, report=False).coded_documents == 2
    with Store(out / "project.sqlite") as store:
        assert {v.split("+m")[1] for v in store.coder_versions(AUTO)} == {"0123456789ab"}
    assert pipeline.run(corpus, codebook, out, progress=False, report=False).coded_documents == 0
