"""The accuracy card: precision per rule from dispositions, by language and platform, language flags."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from tests.reports.conftest import ANA, AUD, REV, conn_of
from watchfloor.domain.errors import PermissionDenied
from watchfloor.domain.rules import RuleDraft
from watchfloor.services.accuracy import Tally, accuracy_card, language_flag
from watchfloor.services.context import ServiceContext
from watchfloor.services.rules import add_rule
from watchfloor.store.rows import to_micros
from watchfloor.store.schema import alerts, post_terms, posts

_ids = itertools.count(1)


def _alerts(
    ctx: ServiceContext,
    rule_id: int,
    lang: str | None,
    platform: str,
    outcomes: dict[str, int],
    *,
    days_ago: int = 0,
) -> None:
    """Posts in ``lang`` on ``platform`` and one alert each, in the given statuses or dispositions."""
    at = to_micros(ctx.clock.now() - timedelta(days=days_ago))
    with ctx.store.transaction() as tx:
        conn = conn_of(tx)
        for outcome, count in outcomes.items():
            for _ in range(count):
                n = next(_ids)
                flags = dict.fromkeys(
                    ("has_media", "has_links", "has_geo", "is_reply", "is_repost", "is_quote"), False
                )
                post_id = conn.execute(
                    insert(posts)
                    .values(
                        platform=platform,
                        native_id=str(n),
                        created_us=at,
                        collected_us=at,
                        doc=b"{}",
                        **flags,
                    )
                    .returning(posts.c.id)
                ).scalar_one()
                if lang:
                    conn.execute(insert(post_terms).values(kind="lang", value=lang, post_id=post_id))
                status, disposition = (outcome, None) if outcome in _STATUSES else ("dismissed", outcome)
                row: dict[str, Any] = {
                    "kind": "post", "rule_id": rule_id, "rule_version": 1, "severity": "high",
                    "status": status, "disposition": disposition, "post_id": post_id, "post_count": 1,
                    "created_us": at, "deadline_us": at, "updated_us": at, "spans": "[]", "fields": "[]",
                }  # fmt: skip
                conn.execute(insert(alerts).values(row))


_STATUSES = ("open", "claimed", "escalated", "in_case")


def _rule(ctx: ServiceContext, basis: int, word: str) -> int:
    return add_rule(
        ctx, actor=ANA, draft=RuleDraft(name=f"Rule {word}", query=word, severity="high", basis_id=basis)
    ).id


def test_accuracy_card(ctx: ServiceContext, basis: int) -> None:
    skewed, even, zero = (_rule(ctx, basis, w) for w in ("bomb", "shooting", "stabbing"))
    # Rule "bomb": English 2 false positives in 20 judged (10%), Spanish 6 in 20 (30%): 3x -> flagged.
    _alerts(ctx, skewed, "en", "twitter", {"resolved": 10, "escalated": 5, "in_case": 3, "false_positive": 2})
    _alerts(ctx, skewed, "es", "mastodon", {"not_actionable": 14, "false_positive": 4, "out_of_scope": 2})
    _alerts(ctx, skewed, "es", "mastodon", {"duplicate": 3, "open": 2, "claimed": 1})  # not judged
    # Rule "shooting": 10% everywhere it can be compared; French 3 of 3 false but below the sample.
    _alerts(ctx, even, "en", "twitter", {"resolved": 9, "false_positive": 1})
    _alerts(ctx, even, "ar", "telegram", {"resolved": 9, "false_positive": 1})
    _alerts(ctx, even, "fr", "twitter", {"false_positive": 3})
    _alerts(ctx, even, None, "twitter", {"false_positive": 30})  # no language tag: never compared
    # Rule "stabbing": no false positives in English, some in Portuguese: infinitely worse -> flagged.
    _alerts(ctx, zero, "en", "twitter", {"resolved": 10})
    _alerts(ctx, zero, "pt", "twitter", {"resolved": 8, "false_positive": 2})

    card = accuracy_card(ctx, actor=AUD)
    lines = {line.rule_id: line for line in card.rules}
    assert set(lines) == {skewed, even, zero} and card.min_sample == 10

    first = lines[skewed]
    assert first.name == "Rule bomb"
    assert (first.total.true_positive, first.total.false_positive, first.total.not_judged) == (32, 8, 6)
    assert first.total.precision == pytest.approx(32 / 40)
    assert first.by_language["es"].false_positive_rate == pytest.approx(6 / 20)
    assert first.by_platform["mastodon"].judged == 20 and first.by_platform["twitter"].precision == 0.9
    assert first.outcomes["duplicate"] == 3 and first.outcomes["open"] == 2 and first.outcomes["in_case"] == 3
    assert first.flag is not None and (first.flag.worst, first.flag.best) == ("es", "en")
    assert first.flag.ratio == pytest.approx(3.0)

    second = lines[even]
    assert second.flag is None
    assert second.by_language["fr"].judged == 3 and second.by_language["unknown"].false_positive == 30
    assert second.total.precision == pytest.approx(18 / 53)

    third = lines[zero]
    assert third.flag is not None and third.flag.ratio is None and "infinitely" in third.flag.describe()

    document = card.as_json()
    assert document["rules"][0]["language_flag"]["ratio"] == 3.0  # type: ignore[index]
    with ctx.store.transaction() as tx:
        event = tx.audit_events(action="reports.accuracy", limit=1)[0]
    assert event.actor == "audrey" and event.details["rules"] == 3 and event.details["flagged"] == 2

    # The minimum sample is a setting: at 25 judged alerts no language of "bomb" may be compared.
    strict = dataclasses.replace(ctx, settings=ctx.settings.model_copy(update={"accuracy_min_sample": 25}))
    assert all(line.flag is None for line in accuracy_card(strict, actor=AUD).rules)


def test_accuracy_card_period_counts_only_alerts_raised_in_it(ctx: ServiceContext, basis: int) -> None:
    rule = _rule(ctx, basis, "arson")
    _alerts(ctx, rule, "en", "twitter", {"resolved": 3, "false_positive": 1})
    _alerts(ctx, rule, "en", "twitter", {"false_positive": 5}, days_ago=60)
    now = ctx.clock.now()
    recent = accuracy_card(ctx, actor=ANA, since=now - timedelta(days=7), until=now + timedelta(days=1))
    assert recent.rules[0].total.precision == 0.75
    assert accuracy_card(ctx, actor=ANA).rules[0].total.false_positive == 6


def test_language_flag_threshold_is_strictly_above_one_point_two_five() -> None:
    def tally(fp: int, tp: int) -> Tally:
        return Tally(true_positive=tp, false_positive=fp)

    assert language_flag({"en": tally(4, 16), "es": tally(5, 15)}, min_sample=10) is None  # 25% / 20% = 1.25
    assert language_flag({"en": tally(4, 16), "es": tally(6, 14)}, min_sample=10) is not None  # 1.5
    assert language_flag({"en": tally(0, 20), "es": tally(0, 20)}, min_sample=10) is None
    assert language_flag({"en": tally(0, 20), "es": tally(9, 0)}, min_sample=10) is None  # es too small


def test_reviewers_may_not_read_the_card(ctx: ServiceContext) -> None:
    with pytest.raises(PermissionDenied):
        accuracy_card(ctx, actor=REV)
