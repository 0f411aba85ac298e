"""The console over HTTP: role × route permissions, object-level refusals, one audit event per request.

``CALLS`` maps every /api/ route (and the key pages) to the policy operation(s) behind it; for each
role the expected answer comes from ``accountability.policy.allowed`` — the same table
docs/permissions.md is generated from — so the HTTP layer and the policy cannot drift apart. Allowed
means "not refused" (a 409 for an alert someone already closed is fine); refused means 403. An
anonymous caller gets 401 from the API and a redirect to the sign-in page from a page. A test also
fails when an /api/ route is missing from ``CALLS``, so a new endpoint must join the matrix.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import Client, Web, make_web
from tests.web.test_route_inventory import walk
from watchfloor.accountability.policy import allowed
from watchfloor.connectors.base import MapOptions
from watchfloor.domain.actor import Actor
from watchfloor.domain.rules import RuleDraft
from watchfloor.services.cases import open_case
from watchfloor.services.dissemination import request_export
from watchfloor.services.evidence import capture_evidence
from watchfloor.services.ingest import import_file
from watchfloor.services.rules import add_rule
from watchfloor.services.watches import request_watch
from watchfloor.store.ports import AlertFilter

ROLES = {"ana": "analyst", "sam": "supervisor", "rita": "reviewer", "audrey": "auditor", "root": "admin"}
ANA = Actor(name="ana", roles=frozenset({"analyst"}))
SECRET_TEXT = "trapped on the roof with the water rising"  # a post's words: never in a refusal
SECRET_AUTHOR = "roofer_1984"


@dataclass(frozen=True)
class Objects:
    alerts: list[int]
    posts: list[int]
    rule: int
    watches: list[int]
    spare_basis: int
    case: int
    evidence: int
    exports: list[int]


def seed(web: Web, tmp_path: Path) -> Objects:
    """Five posts with alerts (ana's rule), two watches ana asked for, a second basis to retire."""
    rule = add_rule(
        web.ctx, actor=ANA, draft=RuleDraft(basis_id=web.basis, name="Roof", query="roof", severity="high")
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "author", "created_at", "text"])
    texts = (
        f"{SECRET_TEXT} near the old mill, please send a boat",
        "Our roof collapsed after the storm on Elm street yesterday evening",
        "Kids are safe but the roof leaks badly, any volunteers with tarps?",
        "The school gym roof is being used as a shelter from tonight on",
        "Photos of roof damage across the harbour district, 40 homes hit",
    )
    for i, text in enumerate(texts):
        writer.writerow([str(i + 1), SECRET_AUTHOR, f"2026-11-29T1{i}:00:00Z", text])
    path = tmp_path / "posts.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    import_file(web.ctx, actor=ANA, path=path, format_name="csv", options=MapOptions(platform="twitter"))
    with web.ctx.store.transaction() as tx:
        alerts = sorted(tx.list_alerts(AlertFilter(), limit=100), key=lambda a: a.id)
        spare = tx.create_basis(
            title="Spare",
            authority="test",
            purpose="test",
            necessity="test",
            owner="sam",
            review_at=None,
            expires_at=None,
            created_by="sam",
            at=web.ctx.clock.now(),
        )
    watches = [
        request_watch(web.ctx, actor=ANA, subject=f"@watched_{i}", basis_id=web.basis, reason="threats").id
        for i in range(2)
    ]
    assert len(alerts) >= 4, "near-duplicate grouping merged the seed posts"
    posts = [a.post_id for a in alerts if a.post_id is not None]
    case = open_case(web.ctx, actor=ANA, title="Roof rescues", basis_id=web.basis)
    item = capture_evidence(web.ctx, actor=ANA, case_id=case.id, post_id=posts[0])
    exports = [
        request_export(
            web.ctx, actor=ANA, query="roof", basis_id=web.basis, recipient="desk", title=f"E{i}"
        ).id
        for i in range(2)
    ]
    return Objects([a.id for a in alerts], posts, rule.id, watches, spare.id, case.id, item.id, exports)


@dataclass(frozen=True)
class Call:
    method: str
    route: str  # the route's path pattern
    operations: tuple[str, ...]  # all must be allowed; () = any signed-in user
    url: str  # with {alert0}, {post0}, {rule}, {watch0}, {spare} … filled from Objects
    body: dict[str, Any] | None = None
    owner: str | None = None  # the object's owner for the policy ("self": the caller's own)

    def target(self, o: Objects) -> str:
        names = {f"alert{i}": a for i, a in enumerate(o.alerts)} | {
            f"post{i}": p for i, p in enumerate(o.posts)
        }
        names |= {f"watch{i}": w for i, w in enumerate(o.watches)} | {"rule": o.rule, "spare": o.spare_basis}
        names |= {f"export{i}": e for i, e in enumerate(o.exports)} | {"case": o.case, "evidence": o.evidence}
        return self.url.format(**names)

    def expected(self, actor: Actor) -> bool:
        owner = actor.name if self.owner == "self" else self.owner
        return all(allowed(actor, op, owner=owner) for op in self.operations)


RULE_BODY = {"name": "New rule", "query": "flood", "severity": "low"}
CALLS: tuple[Call, ...] = (
    # alerts and the queue (W1)
    Call("GET", "/api/alerts", ("alerts.read",), "/api/alerts"),
    Call("GET", "/api/alerts/{alert_id}", ("alerts.read", "posts.view"), "/api/alerts/{alert0}"),
    Call("POST", "/api/alerts/{alert_id}/claim", ("alerts.claim",), "/api/alerts/{alert0}/claim", {}),
    Call(
        "POST",
        "/api/alerts/{alert_id}/dismiss",
        ("alerts.work",),
        "/api/alerts/{alert1}/dismiss",
        {"disposition": "false_positive"},
        owner="self",
    ),
    Call(
        "POST",
        "/api/alerts/{alert_id}/escalate",
        ("alerts.work",),
        "/api/alerts/{alert2}/escalate",
        {},
        "self",
    ),
    Call(
        "POST",
        "/api/alerts/dismiss",
        ("alerts.work",),
        "/api/alerts/dismiss",
        {"alert_ids": ["{alert3}"], "disposition": "duplicate"},
        owner="self",
    ),
    Call("GET", "/api/posts/{post_id}", ("posts.view",), "/api/posts/{post0}"),
    Call("GET", "/api/posts/{post_id}/account", ("posts.view",), "/api/posts/{post0}/account"),
    Call("GET", "/api/posts/{post_id}/graph", ("posts.view",), "/api/posts/{post0}/graph"),
    Call("GET", "/api/search", ("posts.search",), "/api/search?q=roof"),
    Call("GET", "/api/handover", ("handover.read",), "/api/handover"),
    Call("POST", "/api/handover/notes", ("handover.note",), "/api/handover/notes", {"text": "quiet night"}),
    Call("GET", "/api/dashboard", ("posts.stats",), "/api/dashboard"),
    # rules (W2)
    Call("GET", "/api/rules", ("rules.read",), "/api/rules"),
    Call("GET", "/api/rules/validate", (), "/api/rules/validate?q=roof"),
    Call("POST", "/api/rules", ("rules.create",), "/api/rules", RULE_BODY),
    Call("GET", "/api/rules/{rule_id}", ("rules.read",), "/api/rules/{rule}"),
    Call("GET", "/api/rules/{rule_id}/history", ("rules.read",), "/api/rules/{rule}/history"),
    Call("PUT", "/api/rules/{rule_id}", ("rules.edit",), "/api/rules/{rule}", {"change_note": "x"}, "ana"),
    # cases, evidence, reports and exports (W3); ana owns the case and both exports
    Call("GET", "/api/cases", ("cases.read",), "/api/cases"),
    Call("POST", "/api/cases", ("cases.open",), "/api/cases", {"title": "Another case"}),
    Call("GET", "/api/cases/{case_id}", ("cases.read",), "/api/cases/{case}", owner="ana"),
    Call(
        "POST",
        "/api/cases/{case_id}/notes",
        ("cases.work",),
        "/api/cases/{case}/notes",
        {"kind": "fact", "body": "Seen at 10:00"},
        "ana",
    ),
    Call(
        "POST",
        "/api/cases/{case_id}/evidence",
        ("cases.work", "posts.view"),
        "/api/cases/{case}/evidence",
        {"post_id": "{post1}"},
        "ana",
    ),
    Call(
        "GET",
        "/api/cases/{case_id}/evidence/{evidence_id}",
        ("cases.read",),
        "/api/cases/{case}/evidence/{evidence}",
        owner="ana",
    ),
    Call(
        "POST",
        "/api/cases/{case_id}/report",
        ("cases.work", "exports.request"),
        "/api/cases/{case}/report",
        {"recipient": "press desk"},
        "ana",
    ),
    Call("GET", "/api/exports", ("exports.read",), "/api/exports"),
    Call("GET", "/api/exports/{export_id}", ("exports.read",), "/api/exports/{export0}", owner="ana"),
    Call(
        "GET",
        "/api/exports/{export_id}/review",
        ("exports.review",),
        "/api/exports/{export0}/review",
        owner="ana",
    ),
    Call(
        "POST",
        "/api/exports/{export_id}/approve",
        ("exports.decide",),
        "/api/exports/{export0}/approve",
        {"content_sha256": "0" * 64},
        "ana",
    ),
    Call(
        "POST",
        "/api/exports/{export_id}/reject",
        ("exports.decide",),
        "/api/exports/{export1}/reject",
        {"note": "too broad"},
        "ana",
    ),
    Call(
        "POST",
        "/api/exports/{export_id}/release",
        ("exports.release",),
        "/api/exports/{export0}/release",
        {},
        "ana",
    ),
    # admin and oversight (W4)
    Call("GET", "/api/admin/users", ("users.read",), "/api/admin/users"),
    Call(
        "POST",
        "/api/admin/users",
        ("users.manage",),
        "/api/admin/users",
        {"name": "newbie", "roles": ["analyst"]},
    ),
    Call("POST", "/api/admin/users/{name}/disable", ("users.manage",), "/api/admin/users/bo/disable", {}),
    Call("GET", "/api/admin/bases", ("basis.read",), "/api/admin/bases"),
    Call(
        "POST",
        "/api/admin/bases",
        ("basis.manage",),
        "/api/admin/bases",
        {"title": "T", "authority": "A", "purpose": "P", "necessity": "N"},
    ),
    Call(
        "POST",
        "/api/admin/bases/{basis_id}/retire",
        ("basis.manage",),
        "/api/admin/bases/{spare}/retire",
        {"reason": "done"},
    ),
    Call("GET", "/api/admin/watches", ("watches.read",), "/api/admin/watches"),
    Call(
        "POST",
        "/api/admin/watches/{watch_id}/approve",
        ("watches.decide",),
        "/api/admin/watches/{watch0}/approve",
        {},
        "ana",
    ),
    Call(
        "POST",
        "/api/admin/watches/{watch_id}/deny",
        ("watches.decide",),
        "/api/admin/watches/{watch1}/deny",
        {"note": "not proportionate"},
        "ana",
    ),
    Call("GET", "/api/admin/retention", ("retention.read",), "/api/admin/retention"),
    Call("POST", "/api/admin/retention/purge", ("retention.purge",), "/api/admin/retention/purge", {}),
    Call("GET", "/api/admin/audit/events", ("audit.read",), "/api/admin/audit/events?limit=5"),
    Call("GET", "/api/admin/audit/verify", ("audit.read",), "/api/admin/audit/verify"),
    Call(
        "GET", "/api/admin/reports/transparency", ("reports.transparency",), "/api/admin/reports/transparency"
    ),
    Call("GET", "/api/admin/reports/accuracy", ("reports.accuracy",), "/api/admin/reports/accuracy"),
)
PAGES: tuple[Call, ...] = (
    Call("GET", "/", ("alerts.read",), "/"),
    Call("GET", "/alerts/{alert_id}", ("alerts.read", "posts.view"), "/alerts/{alert0}"),
    Call("GET", "/posts/{post_id}", ("posts.view",), "/posts/{post0}"),
    Call("GET", "/search", ("posts.search",), "/search?q=roof"),
    Call("GET", "/rules", ("rules.read",), "/rules"),
    Call("GET", "/handover", ("handover.read",), "/handover"),
    Call("GET", "/dashboard", ("posts.stats",), "/dashboard"),
    Call("GET", "/cases", ("cases.read",), "/cases"),
    Call("GET", "/cases/{case_id}", ("cases.read",), "/cases/{case}", owner="ana"),
    Call(
        "GET", "/cases/{case_id}/evidence/{evidence_id}", ("cases.read",), "/cases/{case}/evidence/{evidence}"
    ),
    Call("GET", "/exports", ("exports.read",), "/exports"),
    Call("GET", "/admin/users", ("users.read",), "/admin/users"),
    Call("GET", "/admin/bases", ("basis.read",), "/admin/bases"),
    Call("GET", "/admin/watches", ("watches.read",), "/admin/watches"),
    Call("GET", "/admin/retention", ("retention.read",), "/admin/retention"),
    Call("GET", "/admin/audit", ("audit.read",), "/admin/audit"),
    Call("GET", "/admin/reports/transparency", ("reports.transparency",), "/admin/reports/transparency"),
    Call("GET", "/admin/reports/accuracy", ("reports.accuracy",), "/admin/reports/accuracy"),
)


def _routes(web: Web) -> set[tuple[str, str]]:
    return {(m, r.path) for r in walk(web.app.routes) for m in r.methods}


def _fill(value: Any, objects: Objects, call: Call) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, objects, call) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, objects, call) for v in value]
    if isinstance(value, str) and value.startswith("{"):
        return int(Call("GET", "", (), value).target(objects))
    return value


def send(client: Client, call: Call, objects: Objects) -> Any:
    headers = {"X-CSRF-Token": client.csrf} if client.csrf else {}
    body = None if call.body is None else _fill(call.body, objects, call)
    return client.request(call.method, call.target(objects), json=body, headers=headers)


def test_every_api_route_is_in_the_matrix(web: Web) -> None:
    api = {(m, p) for m, p in _routes(web) if p.startswith("/api/") and p != "/api/openapi.json"}
    listed = {(c.method, c.route) for c in CALLS}
    assert not api - listed, f"add these /api/ routes to CALLS with their operations: {sorted(api - listed)}"
    assert not listed - api, f"CALLS names routes the app does not have: {sorted(listed - api)}"


@pytest.mark.parametrize("name", sorted(ROLES))
def test_each_role_gets_what_the_policy_allows(tmp_path: Path, name: str) -> None:
    web = make_web(tmp_path)
    try:
        objects = seed(web, tmp_path)
        client = web.client(name)
        actor = Actor(name=name, roles=frozenset({ROLES[name]}))
        present = _routes(web)
        wrong = []
        for call in CALLS + PAGES:
            if (call.method, call.route) not in present:
                continue  # reported by test_every_api_route_is_in_the_matrix (pages: not built yet)
            response = send(client, call, objects)
            expected = call.expected(actor)
            got = response.status_code
            if (expected and got in (401, 403)) or (not expected and got != 403) or got >= 500:
                wrong.append(
                    f"{call.method} {call.url}: {got} (policy says {'allowed' if expected else 'refused'})"
                )
        assert not wrong, f"{name} ({ROLES[name]}):\n" + "\n".join(wrong)
    finally:
        web.ctx.store.close()


def test_anonymous_callers_get_401_from_the_api_and_the_sign_in_page_otherwise(
    web: Web, tmp_path: Path
) -> None:
    objects = seed(web, tmp_path)
    browser = web.anonymous()
    present = _routes(web)
    for call in CALLS + PAGES:
        if (call.method, call.route) not in present or not call.operations:
            continue
        response = send(browser, call, objects)
        if call.route.startswith("/api/"):
            assert response.status_code == 401, f"{call.method} {call.url}: {response.status_code}"
            assert set(response.json()) == {"error"}
        else:
            assert response.status_code == 303, f"{call.method} {call.url}: {response.status_code}"
            assert response.headers["location"].startswith("/login?next=")


def test_objects_are_refused_without_their_fields(web: Web, tmp_path: Path) -> None:
    """IDOR: a caller without the relation gets 403 or 404 and none of the object's content."""
    objects = seed(web, tmp_path)
    present = _routes(web)
    probes = [
        ("rita", "GET", "/api/alerts/{alert_id}", f"/api/alerts/{objects.alerts[0]}", None),
        ("audrey", "GET", "/api/posts/{post_id}", f"/api/posts/{objects.posts[0]}", None),
        ("rita", "GET", "/posts/{post_id}", f"/posts/{objects.posts[0]}", None),
        ("bo", "PUT", "/api/rules/{rule_id}", f"/api/rules/{objects.rule}", {"query": "changed"}),
        ("ana", "GET", "/api/alerts/{alert_id}", "/api/alerts/999999", None),
        ("ana", "GET", "/api/posts/{post_id}", "/api/posts/999999", None),
    ]
    tried = 0
    for name, method, route, url, body in probes:
        if (method, route) not in present:
            continue
        client = web.client(name)
        response = client.request(method, url, json=body, headers={"X-CSRF-Token": client.csrf})
        assert response.status_code in (403, 404), f"{name} {method} {url}: {response.status_code}"
        for secret in (SECRET_TEXT, SECRET_AUTHOR, "roof"):
            assert secret not in response.text, f"{name} {method} {url} leaked {secret!r}"
        tried += 1
    claimed = web.client("ana")
    assert (
        claimed.post(
            f"/api/alerts/{objects.alerts[0]}/claim", headers={"X-CSRF-Token": claimed.csrf}
        ).status_code
        == 200
    )
    other = web.client("bo")  # an analyst may not work someone else's claimed alert
    refused = other.post(
        f"/api/alerts/{objects.alerts[0]}/dismiss",
        json={"disposition": "false_positive"},
        headers={"X-CSRF-Token": other.csrf},
    )
    assert refused.status_code == 403 and SECRET_TEXT not in refused.text
    assert tried >= 4


# ---- one audit event per request --------------------------------------------------------------------


def _size(web: Web) -> int:
    with web.ctx.store.transaction() as tx:
        return tx.audit_size()


def _newest(web: Web, count: int) -> list[Any]:
    with web.ctx.store.transaction() as tx:
        return tx.audit_events(actor=None, action=None, before=None, limit=count) if count else []


def test_each_request_leaves_exactly_one_audit_event_with_its_request_id(web: Web, tmp_path: Path) -> None:
    objects = seed(web, tmp_path)
    present = _routes(web)
    ana, sam, root, audrey = (web.client(n) for n in ("ana", "sam", "root", "audrey"))
    a0, p0 = objects.alerts[0], objects.posts[0]
    requests: list[tuple[Client, str, str, str, dict[str, Any] | None]] = [
        # (who, method, route pattern, url, form data or None)
        (ana, "GET", "/", "/", None),
        (ana, "GET", "/alerts/{alert_id}", f"/alerts/{a0}", None),
        (ana, "GET", "/posts/{post_id}", f"/posts/{p0}", None),
        (ana, "POST", "/alerts/{alert_id}/claim", f"/alerts/{a0}/claim", {}),
        (ana, "GET", "/search", "/search?q=roof", None),
        (ana, "GET", "/rules", "/rules", None),
        (ana, "GET", "/handover", "/handover", None),
        (ana, "GET", "/dashboard", "/dashboard", None),
        (ana, "GET", "/admin/users", "/admin/users", None),  # refused: one "denied" event
        (ana, "POST", "/admin/users", "/admin/users", {"name": "x", "roles": ["analyst"]}),  # refused
        (sam, "GET", "/admin/watches", "/admin/watches", None),
        (
            sam,
            "POST",
            "/admin/watches/{watch_id}/approve",
            f"/admin/watches/{objects.watches[0]}/approve",
            {},
        ),
        (sam, "GET", "/admin/bases", "/admin/bases", None),
        (root, "GET", "/admin/users", "/admin/users", None),
        (root, "POST", "/admin/users", "/admin/users", {"name": "newbie", "roles": ["analyst"]}),
        (
            root,
            "POST",
            "/admin/users",
            "/admin/users",
            {"name": "Bad Name", "roles": ["analyst"]},
        ),  # rejected
        (root, "GET", "/admin/retention", "/admin/retention", None),
        (root, "POST", "/admin/retention/purge", "/admin/retention/purge", {}),
        (audrey, "GET", "/admin/audit", "/admin/audit", None),
        (audrey, "GET", "/admin/audit/verify", "/admin/audit/verify", None),
        (audrey, "GET", "/admin/reports/transparency", "/admin/reports/transparency", None),
        (audrey, "GET", "/api/admin/reports/accuracy", "/api/admin/reports/accuracy", None),
        (audrey, "GET", "/api/admin/audit/events", "/api/admin/audit/events?limit=3", None),
    ]
    checked = 0
    for client, method, route, url, form in requests:
        if (method, route) not in present:
            continue
        before = _size(web)
        response = client.request(method, url) if form is None else client.post_form(url, form)
        added = _newest(web, _size(web) - before)
        assert len(added) == 1, f"{method} {url} ({response.status_code}) left {[e.action for e in added]}"
        assert added[0].request_id == response.headers["x-request-id"], f"{method} {url}"
        checked += 1
    assert checked >= 15


def test_a_refused_form_without_csrf_is_one_event_too(web: Web) -> None:
    root = web.client("root")
    before = _size(web)
    response = root.post("/admin/users", data={"name": "sneaky", "roles": "analyst"})
    assert response.status_code == 403
    (event,) = _newest(web, _size(web) - before)
    assert (event.action, event.outcome) == ("auth.csrf", "denied")
    assert event.request_id == response.headers["x-request-id"]


def test_routes_that_record_nothing_record_nothing(web: Web) -> None:
    root = web.client("root")
    for url in ("/admin", "/login"):
        before = _size(web)
        assert root.get(url).status_code == 200
        assert _size(web) == before, url
