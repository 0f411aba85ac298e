"""The full role × operation × ownership matrix, generated from the policy, checked through the services.

For every operation in ``accountability/policy.py`` POLICY, every single role (and an account with no
role), and — where the grant depends on it — both ownership states (the actor's own object, someone
else's), a scenario performs the real use case as that actor. The expected outcome is the policy's own
answer (:func:`allowed`): an allowed call must go through, a denied call must raise PermissionDenied and
leave one ``denied`` audit event naming the actor. An operation added to the policy without a scenario
here fails :func:`test_every_operation_has_a_scenario` (A9: 100% of cells, 0 unexpected allows or denies).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.accountability.conftest import ORIGIN, SIGNING_KEY
from tests.people import make_basis
from watchfloor.accountability.policy import POLICY, allowed, policy_markdown
from watchfloor.bus.records import Outgoing, PublishResult
from watchfloor.config import Settings
from watchfloor.connectors.base import MapOptions
from watchfloor.connectors.live.contract import Batch
from watchfloor.domain.actor import Actor
from watchfloor.domain.clock import FrozenClock
from watchfloor.domain.errors import PermissionDenied
from watchfloor.domain.identity import ROLES
from watchfloor.domain.rules import RuleDraft
from watchfloor.query.parser import parse_query
from watchfloor.services import (
    accuracy,
    alerts,
    audit,
    auth,
    cases,
    collect,
    dissemination,
    handover,
    images,
    ingest,
    legal,
    media,
    media_info,
    posts,
    publish,
    reports,
    retention,
    rule_review,
    rules,
    search,
    sources,
    users,
    watches,
)
from watchfloor.services.context import ServiceContext
from watchfloor.store.ports import AlertFilter
from watchfloor.wiring import build_context


class AcceptingBus:
    """A bus that takes every message (the matrix is about permissions; tests/scaleout uses NATS)."""

    max_message_bytes = 1 << 20

    def publish(self, messages: list[Outgoing]) -> PublishResult:
        return PublishResult(stored=len(messages), duplicates=0)


EVERYONE = frozenset(ROLES)
OTHER = "someone"  # owns the objects of "other" cells
ROLE_SETS: dict[str, frozenset[str]] = {role: frozenset({role}) for role in ROLES} | {"none": frozenset()}
PASSWORD = "correct horse battery staple 42"


@dataclass
class Env:
    """One store for the whole matrix, with factories that make fresh objects owned by a given user."""

    ctx: ServiceContext
    folder: Path
    basis: int
    post_id: int = 0
    counter: Iterator[int] = field(default_factory=itertools.count)

    def creator(self, name: str) -> Actor:
        """``name`` with every role: for making objects that ``name`` owns."""
        return Actor(name=name, roles=EVERYONE)

    def n(self) -> int:
        return next(self.counter)

    def rule(self, owner: str) -> int:
        draft = RuleDraft(name=f"rule {self.n()}", query="sunset", severity="low", basis_id=self.basis)
        return rules.add_rule(self.ctx, actor=self.creator(owner), draft=draft).id

    def open_alert(self) -> int:
        found = alerts.list_alerts(
            self.ctx, actor=self.creator("boss"), where=AlertFilter(statuses=("open",)), limit=1
        )
        return found[0].alert.id

    def claimed_alert(self, holder: str) -> int:
        alert_id = self.open_alert()
        alerts.claim_alert(self.ctx, actor=self.creator(holder), alert_id=alert_id)
        return alert_id

    def dismissed_alert(self) -> int:
        alert_id = self.open_alert()
        alerts.dismiss_alert(self.ctx, actor=self.creator("boss"), alert_id=alert_id, disposition="duplicate")
        return alert_id

    def pending_rule(self, author: str) -> int:
        draft = RuleDraft(
            name=f"protest rule {self.n()}",
            query="protest sunset",
            severity="low",
            basis_id=self.basis,
            justification="counter-terrorism desk: threats against a named march",
        )
        return rules.add_rule(self.ctx, actor=self.creator(author), draft=draft).id

    def watch(self, requester: str) -> int:
        return watches.request_watch(
            self.ctx,
            actor=self.creator(requester),
            subject=f"acct{self.n()}",
            basis_id=self.basis,
            reason="threats against a public official",
        ).id

    def case(self, owner: str) -> int:
        return cases.open_case(
            self.ctx, actor=self.creator(owner), title=f"case {self.n()}", basis_id=self.basis
        ).id

    def export(self, author: str) -> int:
        return dissemination.request_export(
            self.ctx,
            actor=self.creator(author),
            query="sunset",
            basis_id=self.basis,
            recipient="press desk",
            title=f"export {self.n()}",
        ).id

    def sha256_of(self, dissemination_id: int) -> str:
        with self.ctx.store.transaction() as tx:
            found = tx.get_dissemination(dissemination_id)
        assert found is not None
        return found.content_sha256

    def approved_export(self, author: str) -> int:
        export_id = self.export(author)
        reviewer = Actor(name=f"reviewer{self.n()}", roles=frozenset({"reviewer"}))
        dissemination.approve_export(
            self.ctx, actor=reviewer, dissemination_id=export_id, content_sha256=self.sha256_of(export_id)
        )
        return export_id

    def token(self, owner: str) -> int:
        return auth.create_token(self.ctx, actor=self.creator(owner), label=f"script {self.n()}").session.id

    def csv(self) -> Path:
        path = self.folder / f"posts{self.n()}.csv"
        path.write_text(
            "id,author,created_at,text\n"
            + "".join(f"{i},acct{i},2026-11-01T10:00:00Z,sunset {i}\n" for i in range(3))
        )
        return path


# A scenario performs one operation as ``actor`` on an object owned by ``owner`` (None: no owner).
Scenario = Callable[[Env, Actor, str | None], object]


SCENARIOS: dict[str, Scenario] = {
    "posts.import": lambda e, a, o: ingest.import_file(
        e.ctx, actor=a, path=e.csv(), format_name="csv", options=MapOptions(platform="twitter")
    ),
    "posts.search": lambda e, a, o: search.search_posts(e.ctx, actor=a, query="sunset", basis_id=e.basis),
    "posts.count": lambda e, a, o: search.count_posts(e.ctx, actor=a, query="sunset", basis_id=e.basis),
    "posts.stats": lambda e, a, o: search.store_stats(e.ctx, actor=a),
    "posts.view": lambda e, a, o: posts.show_post(e.ctx, actor=a, post_id=e.post_id, basis_id=e.basis),
    "quarantine.list": lambda e, a, o: search.list_quarantine(e.ctx, actor=a),
    "rules.create": lambda e, a, o: rules.add_rule(
        e.ctx, actor=a, draft=RuleDraft(name=f"r{e.n()}", query="sunrise", severity="low", basis_id=e.basis)
    ),
    "rules.edit": lambda e, a, o: rules.edit_rule(
        e.ctx, actor=a, rule_id=e.rule(o or OTHER), query=f"sunset OR dusk{e.n()}"
    ),
    "rules.pause": lambda e, a, o: rules.set_rule_active(
        e.ctx, actor=a, rule_id=e.rule(o or OTHER), active=False
    ),
    "rules.resume": lambda e, a, o: rules.set_rule_active(
        e.ctx, actor=a, rule_id=e.rule(o or OTHER), active=True
    ),
    "rules.read": lambda e, a, o: rules.list_rules(e.ctx, actor=a),
    "rules.test": lambda e, a, o: rules.backtest_rule(e.ctx, actor=a, query="sunset"),
    "rules.approve": lambda e, a, o: rule_review.approve_rule(
        e.ctx, actor=a, rule_id=e.pending_rule(o or OTHER)
    ),
    "lists.write": lambda e, a, o: rules.set_account_list(e.ctx, actor=a, name=f"l{e.n()}", members=["@x"]),
    "lists.read": lambda e, a, o: rules.account_lists(e.ctx, actor=a),
    "images.write": lambda e, a, o: images.create_image_list(
        e.ctx, actor=a, name=f"i{e.n()}", description="known flyers", basis_id=e.basis
    ),
    "images.read": lambda e, a, o: images.image_lists(e.ctx, actor=a),
    "alerts.read": lambda e, a, o: alerts.list_alerts(e.ctx, actor=a, where=AlertFilter()),
    "alerts.claim": lambda e, a, o: alerts.claim_alert(e.ctx, actor=a, alert_id=e.open_alert()),
    "alerts.work": lambda e, a, o: alerts.dismiss_alert(
        e.ctx, actor=a, alert_id=e.claimed_alert(o or OTHER), disposition="false_positive"
    ),
    "alerts.reopen": lambda e, a, o: alerts.reopen_alert(e.ctx, actor=a, alert_id=e.dismissed_alert()),
    "alerts.sweep": lambda e, a, o: alerts.sweep_breaches(e.ctx, actor=a),
    "handover.read": lambda e, a, o: handover.handover_summary(e.ctx, actor=a),
    "handover.note": lambda e, a, o: handover.add_handover_note(e.ctx, actor=a, text="quiet night"),
    "audit.read": lambda e, a, o: audit.list_audit_events(e.ctx, actor=a, limit=5),
    "audit.sign": lambda e, a, o: audit.sign_checkpoint(e.ctx, actor=a),
    "users.manage": lambda e, a, o: users.add_user(e.ctx, actor=a, name=f"new{e.n()}", roles="analyst"),
    "users.read": lambda e, a, o: users.list_users(e.ctx, actor=a),
    "users.password": lambda e, a, o: users.set_password(e.ctx, actor=a, name=o or OTHER, password=PASSWORD),
    "users.totp": lambda e, a, o: users.enrol_totp(e.ctx, actor=a, name=o or OTHER),
    "tokens.manage": lambda e, a, o: auth.revoke_token(e.ctx, actor=a, token_id=e.token(o or OTHER)),
    "basis.manage": lambda e, a, o: legal.add_basis(
        e.ctx,
        actor=a,
        title=f"b{e.n()}",
        authority="statute",
        purpose="safety",
        necessity="public posts only",
    ),
    "basis.read": lambda e, a, o: legal.list_bases(e.ctx, actor=a),
    "basis.enforce": lambda e, a, o: legal.enforce_basis_expiry(e.ctx, actor=a),
    "watches.request": lambda e, a, o: watches.request_watch(
        e.ctx, actor=a, subject=f"acct{e.n()}", basis_id=e.basis, reason="threats against an official"
    ),
    "watches.decide": lambda e, a, o: watches.approve_watch(e.ctx, actor=a, watch_id=e.watch(o or OTHER)),
    "watches.cancel": lambda e, a, o: watches.cancel_watch(e.ctx, actor=a, watch_id=e.watch(o or OTHER)),
    "watches.read": lambda e, a, o: watches.list_watches(e.ctx, actor=a),
    "cases.open": lambda e, a, o: cases.open_case(e.ctx, actor=a, title="flooding", basis_id=e.basis),
    "cases.work": lambda e, a, o: cases.close_case(e.ctx, actor=a, case_id=e.case(o or OTHER)),
    "cases.read": lambda e, a, o: cases.list_cases(e.ctx, actor=a),
    "holds.manage": lambda e, a, o: cases.place_hold(
        e.ctx, actor=a, kind="case", object_id=e.case("boss"), reason="litigation"
    ),
    "exports.request": lambda e, a, o: dissemination.request_export(
        e.ctx, actor=a, query="sunset", basis_id=e.basis, recipient="press desk", title="sunsets"
    ),
    "exports.decide": lambda e, a, o: dissemination.approve_export(
        e.ctx, actor=a, dissemination_id=(x := e.export(o or OTHER)), content_sha256=e.sha256_of(x)
    ),
    "exports.review": lambda e, a, o: dissemination.review_content(
        e.ctx, actor=a, dissemination_id=e.export(o or OTHER)
    ),
    "exports.release": lambda e, a, o: dissemination.release_export(
        e.ctx, actor=a, dissemination_id=e.approved_export(o or OTHER), output=e.folder / f"out{e.n()}.csv"
    ),
    "exports.read": lambda e, a, o: dissemination.list_exports(e.ctx, actor=a),
    "retention.purge": lambda e, a, o: retention.purge(e.ctx, actor=a),
    "retention.read": lambda e, a, o: retention.purge(e.ctx, actor=a, dry_run=True),
    "reports.transparency": lambda e, a, o: reports.transparency_report(
        e.ctx, actor=a, period=reports.parse_period("2026-Q4", now=e.ctx.clock.now())
    ),
    "reports.accuracy": lambda e, a, o: accuracy.accuracy_card(e.ctx, actor=a),
    "sources.manage": lambda e, a, o: sources.add_source(
        e.ctx,
        actor=a,
        name=f"feed{e.n()}",
        kind="rss",
        config={"url": "https://example.org/feed.xml"},
        basis_id=e.basis,
    ),
    "sources.read": lambda e, a, o: sources.list_sources(e.ctx, actor=a),
    "sources.collect": lambda e, a, o: collect.collect_batch(
        e.ctx,
        sources.add_source(
            e.ctx,
            actor=e.creator("boss"),
            name=f"feed{e.n()}",
            kind="rss",
            config={"url": "https://x.org/f"},
            basis_id=e.basis,
        ),
        Batch(),
        actor=a,
    ),
    "sources.publish": lambda e, a, o: publish.publish_batch(
        e.ctx,
        sources.add_source(
            e.ctx,
            actor=e.creator("boss"),
            name=f"feed{e.n()}",
            kind="rss",
            config={"url": "https://x.org/f"},
            basis_id=e.basis,
        ),
        Batch(),
        bus=AcceptingBus(),
        actor=a,
    ),
    "media.fetch": lambda e, a, o: media.fetch_due_media(e.ctx, actor=a, limit=1),
    "media.read": lambda e, a, o: media_info.media_status(e.ctx, actor=a),
}


def _cells() -> list[tuple[str, str, str]]:
    cells = []
    for operation, grant in POLICY.items():
        ownerships = ("own", "other") if grant.has_owner else ("none",)
        for role, ownership in itertools.product(ROLE_SETS, ownerships):
            cells.append((operation, role, ownership))
    return cells


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    folder = tmp_path_factory.mktemp("matrix")
    settings = Settings(
        database_url=str(folder / "matrix.db"),
        audit_signing_key=SIGNING_KEY,  # type: ignore[arg-type]
        audit_origin=ORIGIN,
        audit_checkpoint_file=str(folder / "signer.checkpoint"),
    )
    ctx = build_context(settings, clock=FrozenClock(datetime(2026, 11, 30, 12, 0, tzinfo=UTC)))
    environment = Env(ctx=ctx, folder=folder, basis=make_basis(ctx))
    boss = environment.creator("boss")
    for name in ["boss", OTHER, *(f"u-{role}" for role in ROLE_SETS)]:
        users.add_user(ctx, actor=Actor.system("setup"), name=name, roles="analyst")
    rules.add_rule(
        ctx,
        actor=boss,
        draft=RuleDraft(name="Sunsets", query="sunset", severity="low", basis_id=environment.basis),
    )
    rows = "".join(
        f"{i},acct{i % 7},2026-11-01T10:00:00Z,sunset number {i} over the bay\n" for i in range(600)
    )
    path = folder / "seed.csv"
    path.write_text("id,author,created_at,text\n" + rows)
    ingest.import_file(ctx, actor=boss, path=path, format_name="csv", options=MapOptions(platform="twitter"))
    with ctx.store.transaction() as tx:
        environment.post_id = tx.search(parse_query("sunset"), limit=1)[0].id
    yield environment
    ctx.store.close()


def test_every_operation_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(POLICY), "add a scenario for each new policy operation (and drop stale ones)"


@pytest.mark.parametrize(("operation", "role", "ownership"), _cells())
def test_cell(env: Env, operation: str, role: str, ownership: str) -> None:
    actor = Actor(name=f"u-{role}", roles=ROLE_SETS[role])
    owner = {"own": actor.name, "other": OTHER, "none": None}[ownership]
    expected = allowed(actor, operation, owner=owner)
    scenario = SCENARIOS[operation]
    if expected:
        scenario(env, actor, owner)
        return
    with env.ctx.store.transaction() as tx:
        before = tx.audit_size()
    with pytest.raises(PermissionDenied):
        scenario(env, actor, owner)
    with env.ctx.store.transaction() as tx:
        (last,) = tx.audit_events(actor=actor.name, action=None, before=None, limit=1)
    assert last.seq >= before and last.outcome == "denied", (operation, last)


def test_the_documented_permissions_are_the_policy() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "permissions.md").read_text(encoding="utf-8")
    table = doc.split("<!-- policy:begin -->\n", 1)[1].split("<!-- policy:end -->", 1)[0]
    assert table == policy_markdown(), "regenerate: python -m watchfloor.accountability.policy > table"
