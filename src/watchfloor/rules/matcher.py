"""Match standing rules against arriving posts: a multi-pattern prefilter, then exact evaluation.

The design is Luwak's (Lucene Monitor's): index every rule under a few keys it cannot match without
(its *cover*), scan each post once for all keys, and run only the rules whose keys were found. The
answer is exactly :func:`watchfloor.query.evaluate.matches` run over every rule — the prefilter only
skips rules that cannot match — which the property tests check against brute force on real posts.

Edits must not stall ingest, so a matcher is immutable: :meth:`Matcher.with_changes` returns a new
one and the old one keeps working until the caller swaps the reference. Rules live in two segments, a
large *main* one and a small *recent* one, like a two-level LSM tree. An edit rebuilds only the recent
segment; the main one keeps the old version's keys, which merely make the old version a candidate
that is then dropped (a rule is live only if it is the very object the matcher holds for its id).
When the recent segment outgrows ``1/16`` of the rules both are merged into a new main segment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from watchfloor.domain.post import Post
from watchfloor.domain.rules import Match
from watchfloor.query.describe import to_text
from watchfloor.query.evaluate import match_spans, matches
from watchfloor.rules.compiled import CompiledRule
from watchfloor.rules.literal_index import Engine
from watchfloor.rules.segment import Segment, check_lists
from watchfloor.rules.view import PostView

AccountLists = Mapping[str, frozenset[str]]

# Merge the segments when the rules edited since the last merge (in the recent segment, or stale in
# main) exceed this many or 1/16 of all rules, whichever is larger: an edit then rebuilds at most a
# few thousand rules (milliseconds), and a merge (a full build: about a second per 100k rules, see
# docs/decisions/0003) happens once per thousands of edits.
MIN_RECENT = 1024
RECENT_SHARE = 16


class Matcher:
    """An immutable set of compiled rules and the account lists they read, ready to match posts.

    Safe to share between threads: :meth:`match` keeps all per-call state local.
    """

    __slots__ = ("_engine", "_lists", "_main", "_recent", "_rules", "_stale")

    def __init__(
        self,
        rules: dict[int, CompiledRule],
        lists: AccountLists,
        main: Segment,
        recent: Segment | None,
        engine: Engine,
        stale: frozenset[int] = frozenset(),
    ) -> None:
        """Use :meth:`build`; this only assembles parts."""
        self._rules = rules
        self._lists = lists
        self._main = main
        self._recent = recent
        self._engine: Engine = engine
        self._stale = stale  # ids whose entry in main is no longer the live rule

    @classmethod
    def build(cls, rules: Sequence[CompiledRule], lists: AccountLists, *, engine: Engine = "aho") -> Matcher:
        """Index ``rules`` (a later rule with the same id replaces an earlier one) with ``lists``.

        Raises :class:`~watchfloor.domain.errors.NotFound` if a rule names a list ``lists`` lacks, as
        the reference evaluator would: a rule silently matching nothing is worse than a refusal.
        """
        by_id = {rule.rule_id: rule for rule in rules}
        frozen = _freeze(lists)
        check_lists(by_id.values(), frozen)
        return cls(by_id, frozen, Segment(tuple(by_id.values()), frozen, engine), None, engine)

    def with_changes(
        self,
        *,
        upsert: Sequence[CompiledRule] = (),
        remove: Sequence[int] = (),
        lists: AccountLists | None = None,
    ) -> Matcher:
        """Return a matcher with ``upsert`` added or replacing rules of the same id, then ``remove``
        gone, and ``lists`` (all of them, when given) replacing the account lists. ``self`` is unchanged.

        A paused rule is removed here and upserted again when resumed. Raises ``NotFound`` like
        :meth:`build` if a rule would name a missing list.
        """
        rules = dict(self._rules)
        for rule in upsert:
            rules[rule.rule_id] = rule
        for rule_id in remove:  # after the upserts: an id in both ends up removed
            rules.pop(rule_id, None)
        new_lists = self._lists if lists is None else _freeze(lists)
        check_lists(rules.values() if lists is not None else upsert, new_lists)
        # Rules reading a list whose members changed need re-keying: rebuild them in the recent
        # segment. Main keeps the old members as keys until the next merge; they only add candidates,
        # and every candidate is checked against the current lists.
        changed_lists = {
            name for name in set(new_lists) | set(self._lists) if new_lists.get(name) != self._lists.get(name)
        }
        relisted = (
            {rid for rid, rule in rules.items() if rule.lists & changed_lists} if changed_lists else set()
        )
        recent_ids = {r.rule_id for r in self._recent.rules} if self._recent is not None else set()
        recent_ids |= {rule.rule_id for rule in upsert} | relisted
        # Main entries superseded so far: they cost candidates until a merge drops them.
        stale = self._stale | (({r.rule_id for r in upsert} | set(remove) | relisted) & self._main.ids)
        if len(recent_ids | stale) > max(MIN_RECENT, len(rules) // RECENT_SHARE):
            main = Segment(tuple(rules.values()), new_lists, self._engine)
            return Matcher(rules, new_lists, main, None, self._engine)
        # Even an empty recent segment marks main as holding superseded rules (see _candidates).
        recent = Segment(
            tuple(rules[rid] for rid in sorted(recent_ids) if rid in rules), new_lists, self._engine
        )
        return Matcher(rules, new_lists, self._main, recent, self._engine, frozenset(stale))

    def __len__(self) -> int:
        return len(self._rules)

    @property
    def rules(self) -> Mapping[int, CompiledRule]:
        """The live rules by id (read-only)."""
        return MappingProxyType(self._rules)

    @property
    def lists(self) -> AccountLists:
        """The account lists the rules read (read-only)."""
        return MappingProxyType(self._lists)

    def stats(self) -> dict[str, Any]:
        """Sizes of the prefilter segments, for metrics and benchmarks."""
        return {
            "rules": len(self._rules),
            "main": self._main.stats,
            "recent": self._recent.stats if self._recent is not None else None,
        }

    def candidates(self, post: Post) -> list[CompiledRule]:
        """The live rules the prefilter lets through for ``post``, by rule id (for tests and tuning)."""
        view = PostView(post, self._lists)
        return sorted(self._candidates(view), key=_by_id)

    def _candidates(self, view: PostView) -> Iterable[CompiledRule]:
        found: set[CompiledRule] = set()
        self._main.candidates(view, found)
        if self._recent is None:  # main was built from exactly the live rules
            return found
        self._recent.candidates(view, found)
        rules = self._rules
        return [rule for rule in found if rules.get(rule.rule_id) is rule]

    def match(self, posts: Sequence[Post]) -> list[list[Match]]:
        """Return, for each post in order, the rules it matches (by rule id) with spans and fields."""
        results: list[list[Match]] = []
        for post in posts:
            view = PostView(post, self._lists)
            hits = [rule for rule in self._candidates(view) if rule.predicate(view)]
            if not hits:
                results.append([])
                continue
            hits.sort(key=_by_id)
            results.append([_match(rule, view) for rule in hits])
        return results

    def match_ids(self, posts: Sequence[Post]) -> list[list[int]]:
        """Like :meth:`match` but only the rule ids: the decision without spans (cheaper per hit)."""
        results: list[list[int]] = []
        for post in posts:
            view = PostView(post, self._lists)
            results.append(sorted(rule.rule_id for rule in self._candidates(view) if rule.predicate(view)))
        return results


def _by_id(rule: CompiledRule) -> int:
    return rule.rule_id


def _match(rule: CompiledRule, view: PostView) -> Match:
    spans = match_spans(rule.query.root, view.doc, lists=view.lists)
    held = tuple(to_text(f) for f in rule.fields if matches(f, view.doc, lists=view.lists))
    return Match(rule_id=rule.rule_id, version=rule.version, spans=tuple(spans), fields=held)


def _freeze(lists: AccountLists) -> dict[str, frozenset[str]]:
    return {name: frozenset(members) for name, members in lists.items()}
