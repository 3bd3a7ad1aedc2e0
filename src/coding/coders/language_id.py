"""Is a text in English? A dependency-free test by script and stop words.

The coders read English: a paragraph in Urdu, Russian or any other language
gets no coding from them, and that must be said rather than left as a silent
zero. A text counts as not English when most of its letters are outside the
Latin script, or when it is long enough to judge and almost none of its words
are common English function words.
"""

from __future__ import annotations

import re

from coding.language import fold

_WORD = re.compile(r"[^\W\d_]+")
# the same words in a text of ASCII only, found about twice as fast
_ASCII_WORD = re.compile(r"[A-Za-z]+")
#: Common English function words: a sentence of English has several.
STOP_WORDS = frozenset(
    "a about after all also an and are as at be been but by can could for from had has have he her his i "
    "if in into is it its more not of on or our over said she should that the their them there these they "
    "this those to was we were what when which while who will with would you".split())
#: Words a text needs before its share of stop words is judged.
MIN_WORDS = 8
#: Below this share of English stop words, a text of enough words is not English.
MIN_STOP_SHARE = 0.08
#: Above this share of letters outside the Latin script, a text is not English.
MAX_OTHER_SCRIPT = 0.5


def _latin(word: str) -> bool:
    return max(word) < "\u0250"


def is_english(text: str) -> bool:
    """True unless ``text`` is clearly in another language (see the module
    docstring); a text too short to judge counts as English. The text is
    read folded, as the coders read it (a typographic apostrophe is not a letter)."""
    text = fold(text)
    words = (_ASCII_WORD if text.isascii() else _WORD).findall(text)
    if not words:
        return True
    letters = "".join(words)
    if letters.isascii() or max(letters) < "\u0250":  # every word is Latin: only the stop words can tell
        latin = words
    else:
        other = sum(len(w) for w in words if not _latin(w))
        if other > MAX_OTHER_SCRIPT * len(letters):
            return False
        latin = [w for w in words if _latin(w)]
    return _enough_stop_words(latin)


def _enough_stop_words(latin: list[str]) -> bool:
    return bool(english_from_counts(len(latin), sum(map(STOP_WORDS.__contains__, map(str.lower, latin)))))


def english_from_counts(n_words, n_stop):
    """The verdict on a text of Latin letters from its numbers of words and
    stop words (numbers, or arrays of them): too short to judge, or enough
    stop words."""
    return (n_words < MIN_WORDS) | (n_stop >= MIN_STOP_SHARE * n_words)


def token_counts(token: str) -> tuple[int, int]:
    """(words, stop words) that an ASCII token of the folded text (a run of
    letters and digits) adds to the test: a run of letters is one word, of
    digits none; in a token of both, its runs of letters are its words."""
    if token.isalpha():
        return 1, int(token in STOP_WORDS)
    if token.isdigit():
        return 0, 0
    runs = _ASCII_WORD.findall(token)
    return len(runs), sum(map(STOP_WORDS.__contains__, runs))
