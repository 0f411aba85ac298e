"""Multi-pattern engines that find which trigger strings occur in a post's token string.

Every trigger is a substring of the space-joined token string (``" flood "``, ``" flo"``,
``" water rising "``), so any exact multi-literal engine will do. Two are kept behind one small
interface so the choice can be re-measured (``benchmarks/bench_match.py``); pyahocorasick is the
default, for the figures in ``docs/decisions/0003-rule-matcher.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal, Protocol

import ahocorasick
import re2

Engine = Literal["aho", "re2"]
ENGINES: tuple[Engine, ...] = ("aho", "re2")


class LiteralIndex(Protocol):
    """Literal strings mapped to sets of rules; ``collect`` adds the rules of every literal present."""

    def collect(self, text: str, out: set[Any]) -> None: ...


class _Empty:
    def collect(self, text: str, out: set[Any]) -> None:
        return None


class _AhoCorasick:
    """pyahocorasick: one automaton; ``iter`` reports every occurrence, so repeats are yielded again."""

    def __init__(self, entries: Sequence[tuple[str, Iterable[Any]]]) -> None:
        automaton = ahocorasick.Automaton()
        for literal, payload in entries:
            automaton.add_word(literal, payload)
        automaton.make_automaton()
        self._iter = automaton.iter

    def collect(self, text: str, out: set[Any]) -> None:
        for _end, payload in self._iter(text):
            out.update(payload)


class _Re2Set:
    """google-re2 ``Set`` of escaped literals: reports each matching literal once, as an index."""

    def __init__(self, entries: Sequence[tuple[str, Iterable[Any]]]) -> None:
        options = re2.Options()
        options.log_errors = False
        # A Set never gives up when its DFA cache fills, it flushes and goes on (RE2's dfa.cc); a bigger
        # budget only means fewer flushes on large sets (the cache grows lazily, this is a ceiling).
        options.max_mem = 256 << 20
        self._set = re2.Set.SearchSet(options)
        self._payloads = [payload for _, payload in entries]
        for literal, _ in entries:
            self._set.Add(re2.escape(literal))
        self._set.Compile()

    def collect(self, text: str, out: set[Any]) -> None:
        payloads = self._payloads
        for index in self._set.Match(text) or ():
            out.update(payloads[index])


def build_index(entries: Sequence[tuple[str, Iterable[Any]]], engine: Engine = "aho") -> LiteralIndex:
    """Return an index over ``entries``: distinct literals, each with the rules it triggers."""
    if not entries:
        return _Empty()
    if engine == "aho":
        return _AhoCorasick(entries)
    if engine == "re2":
        return _Re2Set(entries)
    raise ValueError(f"unknown literal engine {engine!r}; choose one of {', '.join(ENGINES)}")
