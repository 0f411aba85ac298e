"""The permission policy: which roles may perform which operation, on their own objects or anyone's.

This table is the single source of truth (ASVS 8.3.1; MISP's fix for scattered checks, PR #6136). The
service layer calls :func:`authorize` before any protected work (``services/access.py`` pairs it with
fetching the object, so an object is never used without its check), and a test generates the full
role × operation × ownership matrix from :data:`POLICY` and checks every cell through the real
services. Operation names are the audit actions they produce.

*Ownership* is the relation between the actor and the object: the rule's owner, the alert's assignee,
the watch's requester, the case's owner, the export's author, the token's user. Three kinds of grant:

* ``anyone``: these roles may act on any object;
* ``own``: these roles may act only on objects they own;
* ``not_own``: these roles may act only on objects someone *else* owns — separation of duties: no one
  approves their own watch request, export or sensitive rule (ASVS 2.3.5, RIPA authorising officer).

System actors (the demo loader, scheduled jobs) are built in code, never from a user name; they may
perform only the operations in :data:`SYSTEM_OPERATIONS`, and never an approval.
"""

from __future__ import annotations

from dataclasses import dataclass

from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import PermissionDenied
from watchfloor.domain.identity import ROLES, Role

_ANALYSTS: frozenset[Role] = frozenset({"analyst", "supervisor"})
_OVERSIGHT: frozenset[Role] = frozenset({"supervisor", "auditor", "admin"})


@dataclass(frozen=True, slots=True)
class Grant:
    """Who may perform one operation (see the module docstring for the three kinds)."""

    anyone: frozenset[Role] = frozenset()
    own: frozenset[Role] = frozenset()
    not_own: frozenset[Role] = frozenset()
    about: str = ""  # what the operation is, for error messages and the generated docs

    @property
    def has_owner(self) -> bool:
        """Whether the decision depends on who owns the object."""
        return bool(self.own or self.not_own)


def _g(
    about: str,
    anyone: set[Role] | frozenset[Role] = frozenset(),
    own: set[Role] | frozenset[Role] = frozenset(),
    not_own: set[Role] | frozenset[Role] = frozenset(),
) -> Grant:
    return Grant(frozenset(anyone), frozenset(own), frozenset(not_own), about)


POLICY: dict[str, Grant] = {
    # posts
    "posts.import": _g("import posts from files", {"analyst", "supervisor", "admin"}),
    "posts.search": _g("search stored posts", _ANALYSTS),
    "posts.count": _g("count stored posts", _ANALYSTS),
    "posts.stats": _g("see collection statistics", _ANALYSTS | {"auditor", "admin"}),
    "posts.view": _g("view a stored post and its raw payload", _ANALYSTS),
    "quarantine.list": _g("list quarantined records", _ANALYSTS | {"admin"}),
    # rules and account lists
    "rules.create": _g("create a standing rule", _ANALYSTS),
    "rules.edit": _g("edit a rule", {"supervisor"}, own={"analyst"}),
    "rules.pause": _g("pause a rule", {"supervisor"}, own={"analyst"}),
    "rules.resume": _g("resume a rule", {"supervisor"}, own={"analyst"}),
    "rules.read": _g("list and read rules and their history", _ANALYSTS | {"auditor"}),
    "rules.test": _g("back-test a rule query", _ANALYSTS),
    "rules.approve": _g("approve a sensitive rule (second person)", not_own={"supervisor"}),
    "lists.write": _g("create or change an account list", _ANALYSTS),
    "lists.read": _g("list account lists", _ANALYSTS | {"auditor"}),
    "images.write": _g("create a known-image list, add or remove its images", _ANALYSTS),
    "images.read": _g("list known-image lists and their hashes", _ANALYSTS | {"auditor"}),
    # alerts and shifts
    "alerts.read": _g("list and read alerts", _ANALYSTS),
    "alerts.claim": _g("claim an alert", _ANALYSTS),
    "alerts.work": _g("release, dismiss or escalate an alert", {"supervisor"}, own={"analyst"}),
    "alerts.reopen": _g("reopen a closed alert", {"supervisor"}),
    "alerts.sweep": _g("mark breached deadlines", {"supervisor", "admin"}),
    "handover.read": _g("read the shift handover", _ANALYSTS),
    "handover.note": _g("write a handover note", _ANALYSTS),
    # accountability
    "audit.read": _g("read and verify the audit log", {"auditor", "admin"}),
    "audit.sign": _g("sign an audit checkpoint", {"admin"}),
    "users.manage": _g("add users, change roles, disable accounts, reset TOTP", {"admin"}),
    "users.read": _g("list users", {"admin", "auditor"}),
    "users.password": _g("set an account's password", {"admin"}, own=set(ROLES)),
    "users.totp": _g("enrol an account's second factor (TOTP)", {"admin"}, own=set(ROLES)),
    "tokens.manage": _g("create and revoke API tokens", {"admin"}, own=set(ROLES)),
    "basis.manage": _g("add or retire a legal basis", {"supervisor", "admin"}),
    "basis.read": _g("list and read legal bases", set(ROLES)),
    "basis.enforce": _g("pause what hangs on expired or retired legal bases", {"supervisor", "admin"}),
    "watches.request": _g("request a named-account watch", _ANALYSTS),
    "watches.decide": _g("approve or deny a watch request (second person)", not_own={"supervisor"}),
    "watches.cancel": _g("cancel a watch", {"supervisor"}, own={"analyst"}),
    "watches.read": _g("read the register of watches", _OVERSIGHT | {"analyst"}),
    "cases.open": _g("open a case", _ANALYSTS),
    "cases.work": _g("add alerts to, or close, a case", {"supervisor"}, own={"analyst"}),
    "cases.read": _g("list and read cases", _ANALYSTS),
    "holds.manage": _g("place or release a legal hold", {"supervisor", "admin"}),
    "exports.request": _g("prepare an export or report for review", _ANALYSTS),
    "exports.decide": _g("approve or refuse an export (second person)", not_own={"reviewer"}),
    "exports.review": _g(
        "read the exact content of an export under review (second person)", not_own={"reviewer"}
    ),
    "exports.release": _g("release an approved export", own={"analyst", "supervisor"}),
    "exports.read": _g("list exports and their reviews", _ANALYSTS | {"reviewer", "auditor"}),
    "retention.purge": _g("run the retention purge", {"admin"}),
    "retention.read": _g("preview what the retention purge would remove", {"admin", "auditor"}),
    "reports.transparency": _g("produce the transparency report", {"supervisor", "auditor", "admin"}),
    "reports.accuracy": _g("produce the accuracy card", _ANALYSTS | {"auditor"}),
    # live sources and the runner
    "sources.manage": _g("add, pause, resume or remove a live source", {"supervisor", "admin"}),
    "sources.read": _g("list live sources and their status", _ANALYSTS | {"auditor", "admin"}),
    "sources.collect": _g(
        "store a batch a live source fetched (the runner, or a scale-out worker)", {"admin"}
    ),
    "sources.publish": _g(
        "publish a batch a live source fetched to the bus (scale-out connectors)", {"admin"}
    ),
    # media the posts reference
    "media.fetch": _g("fetch, store and enrich the media posts reference (the media fetcher)", {"admin"}),
    "media.read": _g(
        "see the media queue's status and a stored file's metadata and text", _ANALYSTS | {"admin"}
    ),
}

# What scheduled jobs and the demo loader may do on their own; approvals are never among them.
SYSTEM_OPERATIONS = frozenset(
    {
        "posts.import",
        "alerts.sweep",
        "audit.sign",
        "retention.purge",
        "users.manage",
        "users.read",
        "users.password",
        "basis.manage",
        "basis.read",
        "basis.enforce",
        "sources.collect",
        "sources.publish",
        "media.fetch",
    }
)


def allowed(actor: Actor, operation: str, *, owner: str | None = None) -> bool:
    """Whether ``actor`` may perform ``operation`` on an object owned by ``owner`` (None: no owner).

    An operation missing from :data:`POLICY` is denied to everyone (fail closed), and is a bug the
    policy test reports.
    """
    grant = POLICY.get(operation)
    if grant is None:
        return False
    if actor.is_system:
        return operation in SYSTEM_OPERATIONS
    roles = actor.roles
    if roles & grant.anyone:
        return True
    is_own = owner is not None and owner == actor.name
    if is_own and roles & grant.own:
        return True
    return owner is not None and not is_own and bool(roles & grant.not_own)


def explain(actor: Actor, operation: str, *, owner: str | None = None) -> str:
    """Why ``actor`` may not perform ``operation``: the message users see."""
    grant = POLICY.get(operation)
    if grant is None:
        return f"{operation!r} is not in the permission policy, so no one may do it"
    if actor.is_system:
        return f"the system process {actor.name!r} may not {grant.about}"
    held = ", ".join(sorted(actor.roles)) or "no roles"
    if owner is not None and owner == actor.name and grant.not_own and not actor.roles & grant.own:
        return f"{actor.name} may not {grant.about} of their own: a second person must do it"
    parts = []
    if grant.anyone:
        parts.append(" or ".join(sorted(grant.anyone)))
    if grant.own:
        parts.append(f"{' or '.join(sorted(grant.own))} (own only)")
    if grant.not_own:
        parts.append(f"{' or '.join(sorted(grant.not_own))} (not their own)")
    needs = "; ".join(parts) or "no role"
    return f"{actor.name} ({held}) may not {grant.about}: it needs {needs}"


def authorize(actor: Actor, operation: str, *, owner: str | None = None) -> None:
    """Raise :class:`PermissionDenied` unless ``actor`` may perform ``operation`` (see :func:`allowed`)."""
    if not allowed(actor, operation, owner=owner):
        raise PermissionDenied(explain(actor, operation, owner=owner))


def policy_markdown() -> str:
    """The policy as a Markdown table (docs/permissions.md is this text; a test keeps them in sync)."""
    lines = [
        "| operation | what it is | any object | own objects only | others' objects only |",
        "|---|---|---|---|---|",
    ]
    for operation, grant in POLICY.items():
        cells = [", ".join(sorted(roles)) or "—" for roles in (grant.anyone, grant.own, grant.not_own)]
        lines.append(f"| `{operation}` | {grant.about} | {' | '.join(cells)} |")
    system = ", ".join(f"`{op}`" for op in sorted(SYSTEM_OPERATIONS))
    return "\n".join(lines) + f"\n\nSystem processes (scheduler, demo loader) may perform only: {system}.\n"


if __name__ == "__main__":  # regenerate the table in docs/permissions.md
    print(policy_markdown(), end="")
