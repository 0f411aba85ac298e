"""The leaf encoding: canonical, printable ASCII whatever the input, and understood by the verifier."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchfloor import auditverify
from watchfloor.accountability.auditlog import ids_digest, refs
from watchfloor.domain.audit import AuditDraft, AuditEvent, check_draft, decode_leaf, encode_leaf
from watchfloor.domain.errors import InputError

AT = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)
AT_US = 1_796_040_000_123_456  # AT in microseconds since the epoch


def _event(**overrides: object) -> AuditEvent:
    values: dict[str, object] = {
        "seq": 7,
        "at": AT,
        "actor": "maria",
        "action": "posts.search",
        "object_ids": ("post:12", "post:9"),
        "basis_id": 3,
        "purpose": "flood response",
        "details": {"query": 'flood "water rising"', "count": 2},
    }
    values.update(overrides)
    return AuditEvent(**values)  # type: ignore[arg-type]


def test_the_leaf_is_the_documented_canonical_json() -> None:
    leaf = encode_leaf(_event())
    assert leaf == (
        b'{"action":"posts.search","actor":"maria","at":"2026-11-30T12:00:00.123456Z","basis_id":3,'
        b'"details":{"count":2,"query":"flood \\"water rising\\""},"objects":["post:12","post:9"],'
        b'"outcome":"ok","purpose":"flood response","request_id":null,"seq":7,"v":1}'
    )
    assert decode_leaf(leaf) == _event()
    assert auditverify.check_leaf(7, AT_US, "maria", "posts.search", leaf) is None


def test_times_in_other_zones_are_recorded_in_utc() -> None:
    local = AT.astimezone(timezone(timedelta(hours=-5)))
    assert encode_leaf(_event(at=local)) == encode_leaf(_event())


TEXT = st.text(st.characters(codec="utf-8"), max_size=60)


@settings(max_examples=300, deadline=None)
@given(purpose=TEXT, query=TEXT, actor=st.text(st.characters(categories=["L", "N", "P", "S"]), min_size=1))
def test_any_text_becomes_printable_ascii_that_round_trips(purpose: str, query: str, actor: str) -> None:
    """Log injection: CR, LF, ESC, NUL, bidi controls, JSON breakers all end up escaped."""
    event = _event(purpose=purpose, actor=actor, details={"query": query, "hits": [1, None, True, "x"]})
    leaf = encode_leaf(event)
    assert all(0x20 <= byte <= 0x7E for byte in leaf)
    assert decode_leaf(leaf) == event
    assert auditverify.check_leaf(7, AT_US, actor, "posts.search", leaf) is None
    assert json.loads(leaf)["purpose"] == purpose


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"details": {"text": "a post's words"}}, ValueError, "looks like post content"),
        ({"details": {"score": 0.5}}, TypeError, "float is not allowed"),
        ({"details": {"ids": [[1]]}}, TypeError, "lists may hold only"),
        ({"details": {"Query": "x"}}, ValueError, "lower_case identifier"),
        ({"details": {"n": 1 << 70}}, TypeError, "64-bit"),
        ({"action": "search"}, ValueError, "area.verb"),
        ({"object_ids": ("post 12",)}, ValueError, "kind:id"),
        ({"outcome": "maybe"}, ValueError, "outcome must be"),
        ({"actor": "eve\nroot"}, InputError, "control characters"),
        ({"actor": ""}, InputError, "cannot be recorded"),
        ({"purpose": "x" * 5000}, InputError, "too long"),
        ({"purpose": "\ud800"}, InputError, "lone surrogate"),
        ({"at": datetime(2026, 1, 1)}, ValueError, "timezone-aware"),
    ],
)
def test_events_that_cannot_be_leaves_are_refused(
    overrides: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        encode_leaf(_event(**overrides))


def test_an_oversized_event_is_refused_not_truncated() -> None:
    with pytest.raises(InputError, match="at most 16,384"):
        encode_leaf(_event(object_ids=refs("post", range(10**15, 10**15 + 1000))))
    draft = AuditDraft(at=AT, actor="maria", action="exports.create", details={"count": 1000})
    check_draft(draft)
    assert len(ids_digest("post", range(1000))) == 64


def test_the_verifier_flags_leaves_that_are_not_canonical_or_disagree_with_their_columns() -> None:
    leaf = encode_leaf(_event())
    at_us = AT_US
    spaced = json.dumps(json.loads(leaf)).encode()
    assert "canonical" in str(auditverify.check_leaf(7, at_us, "maria", "posts.search", spaced))
    assert "says it is event 7" in str(auditverify.check_leaf(8, at_us, "maria", "posts.search", leaf))
    assert "actor column" in str(auditverify.check_leaf(7, at_us, "mallory", "posts.search", leaf))
    assert "action column" in str(auditverify.check_leaf(7, at_us, "maria", "posts.view", leaf))
    assert "at_us column" in str(auditverify.check_leaf(7, at_us + 1, "maria", "posts.search", leaf))
    assert "not ASCII JSON" in str(auditverify.check_leaf(7, at_us, "maria", "posts.search", b"\xff"))


def test_the_example_in_the_auditor_guide_is_exact() -> None:
    """Auditors re-implement the encoding from the guide; its worked example must be byte-exact."""
    guide = (Path(__file__).parents[2] / "docs" / "auditor-guide.md").read_text(encoding="utf-8")
    shown = guide.split("<!-- example-leaf -->\n```\n")[1].split("\n```")[0].encode("ascii")
    shown_hash = guide.split("<!-- example-leaf-hash -->\nleaf hash: `")[1].split("`")[0]
    event = _event(
        seq=0,
        purpose="Flood response — Łódź",
        details={"query": 'flood "water rising"\n', "count": 2},
    )
    assert encode_leaf(event) == shown
    assert auditverify.hash_leaf(shown).hex() == shown_hash
