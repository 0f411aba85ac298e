"""The rule linter: does a rule key on protest, religious, ethnic or identity terms?

Monitoring that targets protected speech or protected characteristics is where watch floors have done
the most harm (ACLU of Massachusetts on Boston police's #BlackLivesMatter and "Muslim lives matter"
keywords; reliability-accountability.md F7, B8). Such a rule is not forbidden — a desk may have to
watch for threats against a mosque — but it must say why, and a second person must agree. This module
only finds the terms; the rules service asks for the justification and holds the rule for approval.

Terms come from ``sensitive_terms.json`` beside this module (en, es, fr, de, ar, pt). Only what a rule
*looks for* counts: words, prefixes, phrases, regexes and hashtags outside any ``NOT`` (excluding
"protest" to cut noise is not targeting protest). Matching is exact after normalisation, so it is a
prompt for a second look, not a proof: a compound hashtag (``#protestnow``) or a misspelling slips past,
and the list will always be incomplete. Pure: no store, no I/O beyond reading the packaged list once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from watchfloor.query.ast import And, Field, Near, Node, Or, Query
from watchfloor.query.describe import literals
from watchfloor.query.fields import fold_hashtag
from watchfloor.query.tokens import normalise_text, tokenize

Category = Literal["protest", "religion", "ethnicity", "identity"]
CATEGORIES: tuple[Category, ...] = ("protest", "religion", "ethnicity", "identity")
CATEGORY_HELP: dict[Category, str] = {
    "protest": "protest and activism",
    "religion": "religion",
    "ethnicity": "ethnicity and national origin",
    "identity": "sexual orientation, gender identity and disability",
}

_MIN_PREFIX = 3  # a shorter prefix (``is*``) would flag half the list
_MIN_INNER = 5  # shortest listed word looked for inside a regex (not "demo", "trans")

# Arabic folding: harakat, superscript alef and tatweel go; alef forms unify; alef maqsura reads as ya.
_ARABIC_MARKS = re.compile("[\u064b-\u065f\u0670\u0640]")
_ARABIC_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي"})


@dataclass(frozen=True, slots=True)
class SensitiveTerm:
    """One finding: the listed ``term`` (folded), its category and languages, and how the query has it."""

    term: str
    category: Category
    langs: tuple[str, ...]
    found: str  # as the query writes it: protest, protest*, "إن شاء الله", #blacklivesmatter, /regex/


@dataclass(frozen=True, slots=True)
class _Entry:
    term: str
    category: Category
    langs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TermList:
    """The packaged term list, folded for lookup by word, by phrase and by hashtag."""

    words: dict[str, _Entry]
    phrases: dict[tuple[str, ...], _Entry]
    hashtags: dict[str, _Entry]

    def __len__(self) -> int:
        return len(self.words) + len(self.phrases)


def fold(word: str) -> str:
    """A token as the linter compares it: the query language's normalisation plus Arabic folding."""
    return _ARABIC_MARKS.sub("", normalise_text(word)).translate(_ARABIC_LETTERS)


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(fold(t) for t in tokenize(text))


@cache
def term_list() -> TermList:
    """The packaged list (read once per process)."""
    raw = resources.files("watchfloor.rules").joinpath("sensitive_terms.json").read_text(encoding="utf-8")
    categories: dict[str, dict[str, list[str]]] = json.loads(raw)["categories"]
    langs: dict[tuple[str, Category], set[str]] = {}  # (key, category) -> languages, in list order
    for category in CATEGORIES:
        for lang, listed in categories[category].items():
            for text in listed:
                key = ("#" + fold(fold_hashtag(text))) if text.startswith("#") else " ".join(_tokens(text))
                langs.setdefault((key, category), set()).add(lang)
    words: dict[str, _Entry] = {}
    phrases: dict[tuple[str, ...], _Entry] = {}
    hashtags: dict[str, _Entry] = {}
    for (key, category), found_in in langs.items():
        entry = _Entry(key, category, tuple(sorted(found_in)))
        if key.startswith("#"):
            hashtags.setdefault(key[1:], entry)
            continue
        parts = tuple(key.split(" "))
        hashtags.setdefault("".join(parts), entry)
        if len(parts) == 1:
            words.setdefault(parts[0], entry)
        elif parts:
            phrases.setdefault(parts, entry)
    return TermList(words, phrases, hashtags)


def _hashtags(node: Node) -> Iterator[str]:
    """Hashtag filters the query looks for, outside any NOT (as :func:`literals` treats words)."""
    if isinstance(node, Field) and node.name == "hashtag":
        yield node.value
    elif isinstance(node, And | Or):
        for child in node.children:
            yield from _hashtags(child)
    elif isinstance(node, Near):
        yield from _hashtags(node.left)
        yield from _hashtags(node.right)


def _contains(words: tuple[str, ...], part: tuple[str, ...]) -> bool:
    n = len(part)
    return any(words[i : i + n] == part for i in range(len(words) - n + 1))


def _finding(entry: _Entry, found: str) -> SensitiveTerm:
    return SensitiveTerm(term=entry.term, category=entry.category, langs=entry.langs, found=found)


def lint_rule(query: Query) -> list[SensitiveTerm]:
    """Every listed term ``query`` looks for, sorted by category then term; empty when none."""
    terms = term_list()
    found: set[SensitiveTerm] = set()
    plain_words: set[str] = set()
    for kind, value in literals(query.root):
        if kind == "word":
            word = fold(value)
            plain_words.add(word)
            if word in terms.words:
                found.add(_finding(terms.words[word], value))
        elif kind == "prefix":
            found.update(_prefix(terms, value))
        elif kind in ("phrase", "phrase_prefix"):
            words = _tokens(value)
            shown = f'"{value}{"*" if kind == "phrase_prefix" else ""}"'
            found.update(_finding(terms.words[w], shown) for w in words if w in terms.words)
            found.update(_finding(e, shown) for p, e in terms.phrases.items() if _contains(words, p))
        else:  # regex: a listed word written literally inside the pattern, not inside a longer word
            pattern = fold(value)
            found.update(_finding(e, f"/{value}/") for w, e in terms.words.items() if _inside(w, pattern))
    # A phrase term whose words all appear as separate words: black AND lives AND matter.
    found.update(
        _finding(e, " ".join(p)) for p, e in terms.phrases.items() if len(p) > 1 and set(p) <= plain_words
    )
    for tag in _hashtags(query.root):
        entry = terms.hashtags.get(fold(tag))
        if entry is not None:
            found.add(_finding(entry, f"#{tag}"))
    return sorted(found, key=lambda t: (CATEGORIES.index(t.category), t.term, t.found))


def _inside(word: str, pattern: str) -> bool:
    """Whether ``word`` appears in a regex ``pattern`` with no letter right before or after it."""
    if len(word) < _MIN_INNER or word not in pattern:
        return False
    return re.search(rf"(?<![^\W\d_]){re.escape(word)}(?![^\W\d_])", pattern) is not None


def _prefix(terms: TermList, prefix: str) -> Iterator[SensitiveTerm]:
    folded = fold(prefix)
    if len(folded) < _MIN_PREFIX:
        return
    for word, entry in terms.words.items():
        # protest* reaches "protesters"; churchill* reaches no listed word, so it is not flagged.
        if word.startswith(folded):
            yield _finding(entry, f"{prefix}*")


def found_terms(findings: list[SensitiveTerm]) -> tuple[str, ...]:
    """What a rule version records: the distinct query terms that triggered the linter, sorted."""
    return tuple(sorted({f.found for f in findings}))


def describe(findings: list[SensitiveTerm]) -> str:
    """One line for messages: ``protest and activism: protest, #blm; religion: الله``."""
    parts = []
    for category in CATEGORIES:
        shown = sorted({f.found for f in findings if f.category == category})
        if shown:
            parts.append(f"{CATEGORY_HELP[category]}: {', '.join(shown)}")
    return "; ".join(parts)
