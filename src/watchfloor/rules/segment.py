"""One immutable prefilter over a set of compiled rules: triggers in, candidate rules out.

A segment indexes each rule under the keys of its cover: token-string literals in one multi-pattern
index, regexes in one RE2 ``Set`` over the original text, authors (and account-list members),
hashtags and mentions in dictionaries. Rules without a cover are candidates for every post. The
matcher keeps a large segment and a small one for recent edits, so an edit rebuilds only the small one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import re2

from watchfloor.domain.errors import NotFound
from watchfloor.rules.compiled import CompiledRule
from watchfloor.rules.literal_index import Engine, LiteralIndex, build_index
from watchfloor.rules.view import PostView

Rules = tuple[CompiledRule, ...]


class _RegexSet:
    """Which of several RE2 patterns occur in a text, in one pass (options as ``compile_regex``)."""

    def __init__(self, patterns: Mapping[str, tuple[CompiledRule, ...]]) -> None:
        options = re2.Options()
        options.log_errors = False
        options.case_sensitive = False
        # Checked by Compile(); at match time a Set flushes a full DFA cache and never gives up (dfa.cc).
        options.max_mem = 64 << 20
        self._set = re2.Set.SearchSet(options)
        self.rules: list[tuple[CompiledRule, ...]] = []
        self.refused: list[CompiledRule] = []  # patterns a Set would not take: run on every post
        for pattern, found in patterns.items():
            try:
                index = self._set.Add(pattern)
            except re2.error:
                self.refused.extend(found)
                continue
            assert index == len(self.rules)
            self.rules.append(found)
        self._set.Compile()

    def match(self, text: str) -> list[int]:
        return self._set.Match(text) or []


def check_lists(rules: Iterable[CompiledRule], lists: Mapping[str, frozenset[str]]) -> None:
    """Raise :class:`NotFound` if a rule names an account or known-image ("~name") list ``lists`` lacks."""
    missing = sorted({(name, r.rule_id) for r in rules for name in r.lists if name not in lists})
    if missing:
        named = ", ".join(
            f"{'known-image list' if name.startswith('~') else 'account list'} '{name.removeprefix('~')}' "
            f"(rule {rule_id})"
            for name, rule_id in missing[:5]
        )
        raise NotFound(f"Lists not found: {named}; create them or correct the rules.")


class Segment:
    """The prefilter for ``rules``: :meth:`candidates` adds every rule a post might match."""

    def __init__(self, rules: Rules, lists: Mapping[str, frozenset[str]], engine: Engine) -> None:
        self.rules = rules
        self.ids = frozenset(rule.rule_id for rule in rules)
        literals: dict[str, set[CompiledRule]] = {}
        patterns: dict[str, set[CompiledRule]] = {}
        keyed: dict[str, dict[str, set[CompiledRule]]] = {"from": {}, "hashtag": {}, "mention": {}}
        always: list[CompiledRule] = []
        for rule in rules:
            if rule.cover is None:
                always.append(rule)
                continue
            for kind, value in rule.cover:
                if kind == "text":
                    literals.setdefault(value, set()).add(rule)
                elif kind == "regex":
                    patterns.setdefault(value, set()).add(rule)
                elif kind == "list":
                    for member in lists[value]:
                        keyed["from"].setdefault(member, set()).add(rule)
                else:
                    keyed[kind].setdefault(value, set()).add(rule)
        self._literals: LiteralIndex = build_index(
            [(literal, tuple(found)) for literal, found in literals.items()], engine
        )
        self._regexes = _RegexSet({p: tuple(found) for p, found in patterns.items()}) if patterns else None
        if self._regexes is not None:
            always.extend(self._regexes.refused)
        self._always = tuple(always)
        getters = {"from": PostView.authors, "hashtag": PostView.hashtags, "mention": PostView.mentions}
        self._keyed = tuple(
            (getters[kind], {k: tuple(v) for k, v in table.items()}) for kind, table in keyed.items() if table
        )
        self.stats = {
            "rules": len(rules),
            "literals": len(literals),
            "regexes": len(patterns),
            "field_keys": sum(len(table) for _, table in self._keyed),
            "always": len(self._always),
        }

    def candidates(self, view: PostView, out: set[CompiledRule]) -> None:
        """Add to ``out`` every rule of this segment that ``view`` may match (a superset, never less)."""
        self._literals.collect(view.tokstr, out)
        if self._regexes is not None:
            for index in self._regexes.match(view.text):
                out.update(self._regexes.rules[index])
        for keys, table in self._keyed:
            for key in keys(view):
                found = table.get(key)
                if found:
                    out.update(found)
        out.update(self._always)
