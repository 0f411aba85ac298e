"""The admin and auditor pages: each shows what the caller's roles allow, and the services refuse the rest."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from tests.web.conftest import Web
from watchfloor.domain.actor import Actor
from watchfloor.services.watches import request_watch

ANA = Actor(name="ana", roles=frozenset({"analyst"}))


def _last(web: Web, action: str) -> tuple[str, str, dict[str, object]]:
    with web.ctx.store.transaction() as tx:
        event = tx.audit_events(actor=None, action=action, before=None, limit=1)[0]
    return event.actor, event.outcome, dict(event.details)


def test_the_admin_index_lists_only_the_pages_a_role_may_read(web: Web) -> None:
    def links(name: str) -> set[str]:
        page = web.client(name).get("/admin")
        assert page.status_code == 200
        return {a.attributes["href"] or "" for a in HTMLParser(page.text).css("a.admin-card")}

    assert links("root") >= {"/admin/users", "/admin/retention", "/admin/audit", "/admin/bases"}
    assert "/admin/reports/accuracy" not in links("root")  # admins do not produce the accuracy card
    assert links("audrey") >= {"/admin/audit", "/admin/reports/transparency", "/admin/reports/accuracy"}
    assert "/admin/users" not in links("sam") and "/admin/watches" in links("sam")
    assert web.anonymous().get("/admin").status_code == 303


def test_an_admin_adds_an_account_sets_roles_disables_and_enables_it(web: Web) -> None:
    root = web.client("root")
    done = root.post_form("/admin/users", {"name": "dee", "roles": ["analyst", "reviewer"]})
    assert done.status_code == 303 and done.headers["location"] == "/admin/users?done=user-added"
    page = HTMLParser(root.get("/admin/users?done=user-added").text)
    assert "The account was added" in page.css_first("p.notice").text()
    row = page.css_first("#user-dee")
    assert row is not None and "analyst, reviewer" in row.text() and "no password yet" in row.text()

    assert root.post_form("/admin/users/dee/roles", {"roles": ["supervisor"]}).status_code == 303
    assert _last(web, "users.roles")[2]["roles"] == "supervisor"
    assert root.post_form(
        "/admin/users/dee/password", {"password": "a long enough pass phrase 9"}
    ).is_redirect
    assert root.post_form("/admin/users/dee/disable").status_code == 303
    assert "disabled" in HTMLParser(root.get("/admin/users").text).css_first("#user-dee").text()
    assert root.post_form("/admin/users/dee/enable").status_code == 303
    assert root.post_form("/admin/users/totp-user/totp-reset").status_code == 303
    assert _last(web, "users.totp")[2]["change"] == "reset"


def test_bad_account_input_is_a_message_not_a_crash(web: Web) -> None:
    root = web.client("root")
    bad = root.post_form("/admin/users", {"name": "Not Valid!", "roles": ["analyst"]})
    assert bad.status_code == 422 and "is not valid" in bad.text
    last_admin = root.post_form("/admin/users/root/disable")
    assert last_admin.status_code == 409 and "last enabled admin" in last_admin.text


def test_an_auditor_reads_the_users_but_cannot_change_them(web: Web) -> None:
    audrey = web.client("audrey")
    page = audrey.get("/admin/users")
    assert page.status_code == 200 and "root" in page.text
    assert not HTMLParser(page.text).css("form.roles-form")  # no controls shown
    refused = audrey.post_form("/admin/users/ana/disable")
    assert refused.status_code == 403
    assert _last(web, "users.disable")[:2] == ("audrey", "denied")
    assert web.client("ana").get("/admin/users").status_code == 403


def test_supervisors_add_and_retire_legal_bases_and_everyone_reads_them(web: Web) -> None:
    sam = web.client("sam")
    added = sam.post_form(
        "/admin/bases",
        {
            "title": "Storm season",
            "authority": "Civil Contingencies Act",
            "purpose": "Find calls for rescue",
            "necessity": "Public posts only",
            "expires_at": "2027-03-01",
        },
    )
    assert added.status_code == 303
    ana_page = HTMLParser(web.client("ana").get("/admin/bases").text)
    assert any("Storm season" in row.text() for row in ana_page.css("tr[data-row]"))
    assert not ana_page.css("form[action$='/retire']")  # analysts read, they do not manage
    basis_id = max(int((r.attributes["id"] or "basis-0").split("-")[1]) for r in ana_page.css("tr[data-row]"))
    assert sam.post_form(f"/admin/bases/{basis_id}/retire", {"reason": "season over"}).status_code == 303
    assert "retired" in HTMLParser(sam.get("/admin/bases").text).css_first(f"#basis-{basis_id}").text()
    refused = web.client("ana").post_form(
        "/admin/bases", {"title": "x", "authority": "x", "purpose": "x", "necessity": "x"}
    )
    assert refused.status_code == 403


def test_a_second_supervisor_approves_a_watch_and_the_requester_cannot(web: Web) -> None:
    watch = request_watch(web.ctx, actor=ANA, subject="@flood_watcher", basis_id=web.basis, reason="threats")
    sam = web.client("sam")
    row = HTMLParser(sam.get("/admin/watches").text).css_first(f"#watch-{watch.id}")
    assert row is not None and "@flood_watcher" in row.text() and "requested" in row.text()
    assert row.css_first("form[action$='/approve']") is not None
    ana = web.client("ana")
    assert HTMLParser(ana.get("/admin/watches").text).css_first(f"#watch-{watch.id} form") is None
    assert ana.post_form(f"/admin/watches/{watch.id}/approve").status_code == 403
    assert sam.post_form(f"/admin/watches/{watch.id}/approve", {"note": "ok for 7 days"}).status_code == 303
    approved = HTMLParser(sam.get("/admin/watches?state=approved").text).css_first(f"#watch-{watch.id}")
    assert approved is not None and "in force" in approved.text() and "ok for 7 days" in approved.text()
    assert _last(web, "watches.approve")[:2] == ("sam", "ok")


def test_retention_preview_for_auditors_and_the_purge_for_admins(web: Web) -> None:
    audrey = web.client("audrey")
    page = audrey.get("/admin/retention")
    assert page.status_code == 200 and "30 days after collection" in page.text
    assert "Run the purge now" not in page.text
    assert _last(web, "retention.read")[2]["dry_run"] is True
    assert audrey.post_form("/admin/retention/purge").status_code == 403
    root = web.client("root")
    assert "Run the purge now" in root.get("/admin/retention").text
    assert root.post_form("/admin/retention/purge").headers["location"] == "/admin/retention?done=purged"
    assert _last(web, "retention.purge")[:2] == ("root", "ok")
    assert web.client("ana").get("/admin/retention").status_code == 403


def test_the_audit_log_viewer_filters_and_verifies(web: Web) -> None:
    for name in ("ana", "bo", "sam"):
        web.client(name)
    audrey = web.client("audrey")
    page = HTMLParser(audrey.get("/admin/audit?action=auth.login&limit=3").text)
    rows = page.css("table.admin-audit tr[data-row]")
    assert len(rows) == 3 and all("auth.login" in r.text() for r in rows)
    assert page.css_first("a[href^='/admin/audit?'][href*='before=']") is not None  # older page
    verify = audrey.hx("GET", "/admin/audit/verify")
    assert verify.status_code == 200 and "Verified:" in verify.text and "<html" not in verify.text
    assert "Verified:" in audrey.get("/admin/audit/verify").text
    assert web.client("ana").get("/admin/audit").status_code == 403
    assert web.client("sam").get("/admin/audit/verify").status_code == 403


def test_transparency_report_with_a_period_picker_and_downloads(web: Web) -> None:
    sam = web.client("sam")
    page = sam.get("/admin/reports/transparency?period=2026-Q4")
    assert page.status_code == 200 and "Transparency report: 2026-Q4" in page.text
    tree = HTMLParser(page.text)
    assert tree.css_first("#section-searches") is not None
    download = sam.get("/admin/reports/transparency?period=2026-Q4&download=html")
    assert "attachment" in download.headers["content-disposition"] and "<html" in download.text.lower()
    data = sam.get("/api/admin/reports/transparency?period=2026-11").json()
    assert data["format"] == "watchfloor-transparency-report/1" and data["period"]["label"] == "2026-11"
    bad = sam.get("/admin/reports/transparency?period=last+week")
    assert bad.status_code == 422 and "2026-Q4" in bad.text
    assert web.client("ana").get("/admin/reports/transparency").status_code == 403


def test_accuracy_card_for_analysts_and_auditors_not_reviewers(web: Web) -> None:
    page = web.client("audrey").get("/admin/reports/accuracy?since=2026-01-01&until=2026-12-31")
    assert page.status_code == 200 and "No alerts have been judged yet" in page.text
    assert (
        web.client("ana").get("/api/admin/reports/accuracy").json()["format"] == "watchfloor-accuracy-card/1"
    )
    assert web.client("rita").get("/admin/reports/accuracy").status_code == 403
    assert web.client("ana").get("/admin/reports/accuracy?since=yesterday").status_code == 422


def test_the_json_api_mirrors_the_pages(web: Web) -> None:
    root = web.client("root")
    names = {u["name"] for u in root.get("/api/admin/users").json()}
    assert {"ana", "root", "totp-user"} <= names
    created = root.post(
        "/api/admin/users", json={"name": "eve", "roles": ["auditor"]}, headers={"X-CSRF-Token": root.csrf}
    )
    assert created.status_code == 200 and created.json()["roles"] == ["auditor"]
    bases = web.client("ana").get("/api/admin/bases").json()
    assert bases[0]["state"] == "active"
    events = web.client("audrey").get("/api/admin/audit/events?limit=5").json()
    assert len(events) == 5 and events[0]["seq"] > events[-1]["seq"]
    assert web.client("audrey").get("/api/admin/audit/verify").json()["verified"] is True
    assert web.anonymous().get("/api/admin/users").status_code == 401
