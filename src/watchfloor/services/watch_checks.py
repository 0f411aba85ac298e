"""Where named-account watches bite: matching, and repeated looks at one account's posts.

Three checks, all inside the caller's transaction (so they import nothing that needs a ServiceContext;
``services/matching.py``, ``services/search.py`` and ``services/collect.py`` call them):

* :func:`unwatched_accounts`: a live source whose settings name accounts (a Telegram channel, Jetstream
  ``dids``; ``connectors/live/registry.named_accounts``) is collected only while every one of them
  has a watch in force; ``services/collect.py`` stops the source otherwise.

* :func:`withhold_unauthorised`: a rule whose legal basis has ended alerts no more; a rule that names
  individuals (a ``from:`` handle, or an account list ``from:@name`` / ``list:name``) may raise an
  alert only through accounts that have a watch in force. The rule is re-read with every unwatched
  named account made false, and a match that does not survive that is withheld (and counted).
  ``from:alice OR flood`` therefore still alerts on anyone's flood post, but on alice's posts only
  while alice is watched; excluding someone (``-from:bot``) targets no one.
* :func:`note_account_view` / :func:`check_profile_views`: an analyst may look at one account's posts
  (a ``from:`` search) in at most ``view_threshold_sessions`` distinct sessions within
  ``view_window_days``; the next session is refused until a watch is in force for that account.

Watch keys (:func:`authorised_subjects`): a watch on any platform is keyed by its folded handle
(``"alice"``); a watch for one platform by ``"platform:handle"`` (``"bluesky:alice.bsky.social"``). A
post's author is covered when either key of its handle or of its platform id is in the set. A watch is
in force while approved, started, unexpired, and its legal basis is in force.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta

from watchfloor.config import Settings
from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import PermissionDenied
from watchfloor.domain.oversight import LegalBasis, Watch
from watchfloor.domain.post import Post
from watchfloor.domain.rules import Match, RuleVersion
from watchfloor.query.ast import And, Field, MatchAll, Near, Node, Not, Or, Query
from watchfloor.query.evaluate import Document, matches
from watchfloor.query.fields import fold_handle
from watchfloor.query.parser import parse_query
from watchfloor.store.ports import StoreTx

__all__ = [
    "authorised_subjects",
    "check_profile_views",
    "covers",
    "named_accounts",
    "note_account_view",
    "subject_digest",
    "subject_key",
    "unwatched_accounts",
    "watch_in_force",
    "watches_in_force",
    "withhold_unauthorised",
]

_NEVER: Node = Not(MatchAll())


def subject_key(subject: str, platform: str | None = None) -> str:
    """The key of a watch on ``subject``: the folded handle, prefixed ``platform:`` if for one platform."""
    folded = fold_handle(subject)
    return folded if platform is None else f"{platform}:{folded}"


def covers(keys: Collection[str], account: str, platform: str) -> bool:
    """Whether the watch keys cover ``account`` (a folded handle or id) on ``platform``."""
    return account in keys or f"{platform}:{account}" in keys


def watch_in_force(watch: Watch, basis: LegalBasis | None, now: datetime) -> bool:
    """Whether ``watch`` authorises monitoring at ``now``: approved, current, and its basis in force."""
    return watch.in_force(now) and basis is not None and basis.state(now) == "active"


def watches_in_force(tx: StoreTx, now: datetime, *, subject: str | None = None) -> list[Watch]:
    """The watches in force at ``now`` (for ``subject`` only, if given)."""
    candidates = tx.list_watches(subject=subject, approved_only=True)
    if not candidates:
        return []
    bases = {b.id: b for b in tx.list_bases()}
    return [w for w in candidates if watch_in_force(w, bases.get(w.basis_id), now)]


def authorised_subjects(tx: StoreTx, now: datetime) -> frozenset[str]:
    """The keys (see the module docstring) of every account with a watch in force at ``now``."""
    return frozenset(subject_key(w.subject, w.platform) for w in watches_in_force(tx, now))


def subject_digest(account: str) -> str:
    """The SHA-256 (hex) of an account's folded handle: how audit events name a watched account."""
    return hashlib.sha256(fold_handle(account).encode("utf-8")).hexdigest()


def unwatched_accounts(
    tx: StoreTx, accounts: Sequence[tuple[str, str]], now: datetime
) -> tuple[tuple[str, str], ...]:
    """The ``(platform, account)`` pairs among ``accounts`` that no watch in force at ``now`` covers.

    Watches are read only when there are accounts to check (most sources name none).
    """
    if not accounts:
        return ()
    keys = authorised_subjects(tx, now)
    return tuple((p, a) for p, a in accounts if not covers(keys, fold_handle(a), p.casefold()))


# -- matching ---------------------------------------------------------------------------------------


_NAMING_KEYS = ("from:", "author:", "list:")  # query/fields.py FIELD_KEYS that name accounts


@functools.lru_cache(maxsize=65536)
def _naming_query(text: str) -> Query | None:
    """The parsed rule query if it targets accounts by name, else None (cached per query text)."""
    folded = unicodedata.normalize("NFKC", text).casefold()  # as the parser reads field keys
    if not any(key in folded for key in _NAMING_KEYS):
        return None  # the common case, without parsing
    query = parse_query(text, allow_regex=True, allow_lists=True)
    return query if _targets(query.root) else None


def _targets(node: Node, positive: bool = True) -> list[Field]:
    """The ``from:`` fields that select posts by their author (not those under an odd number of NOTs)."""
    if isinstance(node, Field):
        return [node] if positive and node.name == "from" else []
    if isinstance(node, And | Or):
        return [f for child in node.children for f in _targets(child, positive)]
    if isinstance(node, Not):
        return _targets(node.child, not positive)
    if isinstance(node, Near):
        return _targets(node.left, positive) + _targets(node.right, positive)
    return []


def named_accounts(query: Query) -> list[str]:
    """The accounts a query targets by name: ``from:`` values (``@name`` for an account list)."""
    return [f.value for f in _targets(query.root)]


def _restrict(
    node: Node, allowed: Callable[[str], bool], lists: Mapping[str, Collection[str]], positive: bool
) -> Node:
    """``node`` with each targeting ``from:`` narrowed to the accounts ``allowed`` accepts."""
    if isinstance(node, Field):
        if not positive or node.name != "from":
            return node
        if node.value.startswith("@"):
            members = sorted(m for m in lists.get(node.value[1:], ()) if allowed(m))
            return Or(tuple(Field("from", m) for m in members)) if members else _NEVER
        return node if allowed(node.value) else _NEVER
    if isinstance(node, And):
        return And(tuple(_restrict(c, allowed, lists, positive) for c in node.children))
    if isinstance(node, Or):
        return Or(tuple(_restrict(c, allowed, lists, positive) for c in node.children))
    if isinstance(node, Not):
        return Not(_restrict(node.child, allowed, lists, not positive))
    return node  # terms, phrases, NEAR (of terms), regexes: nothing about authors


def withhold_unauthorised(
    tx: StoreTx,
    *,
    posts: Sequence[Post],
    found: Sequence[Sequence[Match]],
    versions: Mapping[int, RuleVersion],
    now: datetime,
) -> tuple[list[list[Match]], int]:
    """``found`` (the matcher's answer for each post) without the matches no authority covers.

    A match is withheld when its rule's legal basis is no longer in force (the rule alerts no more,
    even before the enforcement sweep pauses it), or when it needs a watch that is not in force (see
    the module docstring). Returns the kept matches per post and how many were withheld. Bases,
    watches and account lists are read once per call, and only when there are matches.
    """
    stopped: frozenset[int] | None = None
    keys: frozenset[str] | None = None
    lists: dict[str, frozenset[str]] = {}
    kept_all: list[list[Match]] = []
    withheld = 0
    for post, post_matches in zip(posts, found, strict=True):
        kept: list[Match] = []
        doc: Document | None = None
        for match in post_matches:
            version = versions.get(match.rule_id)
            if version is None:
                kept.append(match)
                continue
            if stopped is None:
                stopped = frozenset(b.id for b in tx.list_bases() if b.state(now) != "active")
            if version.basis_id is not None and version.basis_id in stopped:
                withheld += 1
                continue
            query = _naming_query(version.query)
            if query is None:
                kept.append(match)
                continue
            if keys is None:
                keys = authorised_subjects(tx, now)
                lists = {a.name: frozenset(a.members) for a in tx.account_lists()}
            platform = post.platform.casefold()
            watched = keys

            def allowed(account: str, platform: str = platform, watched: frozenset[str] = watched) -> bool:
                return covers(watched, account, platform)

            doc = doc or Document.from_post(post)
            if matches(_restrict(query.root, allowed, lists, True), doc, lists=lists):
                kept.append(match)
            else:
                withheld += 1
        kept_all.append(kept)
    return kept_all, withheld


# -- the repeated-viewing rule -----------------------------------------------------------------------


def note_account_view(
    tx: StoreTx, actor: Actor, subject: str, session_key: str, now: datetime, settings: Settings
) -> None:
    """Note that ``actor`` is looking at ``subject``'s posts in this session, or refuse if it is one
    session too many (see the module docstring) and no watch is in force for ``subject``.

    System actors are not counted: the rule is about analysts' attention to a person. A refused look
    is not noted; the caller's ``refusals_recorded`` audits the refusal (outcome ``denied``).
    """
    if actor.is_system:
        return
    folded = fold_handle(subject)
    since = now - timedelta(days=settings.view_window_days)
    sessions = tx.account_view_sessions(actor=actor.name, subject=folded, since=since)
    if session_key in sessions:
        return
    limit = settings.view_threshold_sessions
    if len(sessions) >= limit and not watches_in_force(tx, now, subject=folded):
        raise PermissionDenied(
            f"{actor.name} has viewed @{folded}'s posts in {len(sessions)} sessions in the last "
            f"{settings.view_window_days} days (the limit is {limit} without an authorisation); "
            f"a watch authorisation is needed: watchfloor watches request {folded} --reason '...' "
            "--basis ID, then a supervisor other than you approves it"
        )
    tx.record_account_view(actor=actor.name, subject=folded, session_key=session_key, at=now)


def check_profile_views(
    tx: StoreTx, actor: Actor, query: Query, session_key: str, now: datetime, settings: Settings
) -> list[str]:
    """Apply :func:`note_account_view` to each account a search query looks at (``from:handle``).

    Returns the folded handles noted, in query order, so the caller can count them in its event.
    """
    seen: list[str] = []
    for value in named_accounts(query):
        folded = fold_handle(value)
        if value.startswith("@") or folded in seen:
            continue  # an account list is a rule feature; search refuses it before this
        note_account_view(tx, actor, folded, session_key, now, settings)
        seen.append(folded)
    return seen
