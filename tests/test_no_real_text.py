"""No sentence of the real published texts (not the project's to
redistribute) is in any tracked file: no run of 10 words of theirs occurs in
one, model files included (the thesis corpus aside). Skipped where the texts
are not beside the project."""

from __future__ import annotations

import io
import json
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "real-texts" / "units.jsonl"
_WORD = re.compile(r"[^\W_]+")
N = 10


def shingles(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i:i + N]) for i in range(len(words) - N + 1)}


def _text_of(path: Path) -> str:
    raw = path.read_bytes()
    if path.suffix == ".npz":  # the arrays' text: the vocabulary and the settings
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            return "\n".join(zf.read(n).decode("latin-1") for n in zf.namelist())
    return raw.decode("utf-8", errors="replace")


def test_no_ten_word_run_of_a_real_text_is_tracked():
    if not REAL.is_file():
        pytest.skip(f"no real texts at {REAL}")
    try:
        listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    theirs = set()
    for line in REAL.read_text(encoding="utf-8").splitlines():
        if line.strip():
            theirs |= shingles(json.loads(line)["text"])
    found = []
    for name in listed.splitlines():
        if name.startswith("corpus/"):
            continue  # the thesis itself: it names the same events, at times in the same words as the press
        path = REPO / name
        if path.is_file() and path.stat().st_size < 20_000_000:
            if shingles(_text_of(path)) & theirs:
                found.append(name)
    assert found == []
