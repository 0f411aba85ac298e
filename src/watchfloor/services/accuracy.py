"""The accuracy card: how often each rule's alerts were right, by language and platform, and where a
language is treated worse than another.

Precision comes from what analysts decided about alerts (AI Act Art. 13(3)(b)(ii) and 15: declared
accuracy; NIST AI RMF MEASURE 2.11: bias evaluated). Keyword rules flag some dialects and languages
more often for the same intent (Sap et al. 2019: African-American English up to ~2x), so the card
compares false-positive rates across languages and flags a rule when the worst is more than
:data:`RATIO_LIMIT` times the best, among languages with enough judged alerts to say so.

How an alert counts (docs/transparency-and-accuracy.md):

* **true positive**: escalated, added to a case, or closed as ``resolved`` or ``not_actionable``
  (the rule found what it is for; whether anything had to be done is another question);
* **false positive**: closed as ``false_positive`` or ``out_of_scope`` (the rule should not have fired);
* **not judged**: ``duplicate`` (says nothing about the rule), and alerts still open or claimed.

Precision is true / (true + false). A burst alert counts once, under the language and platform of the
post it carries as its sample. Alerts whose post was purged count under language and platform "unknown".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import DetailValue
from watchfloor.services.access import authorize
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import object_refs, record, refusals_recorded
from watchfloor.store.ports import AccuracyCount

RATIO_LIMIT = 1.25
TRUE_POSITIVE = frozenset({"escalated", "in_case", "resolved", "not_actionable"})
FALSE_POSITIVE = frozenset({"false_positive", "out_of_scope"})
UNKNOWN = "unknown"


def outcome_of(status: str, disposition: str | None) -> str:
    """The outcome an alert is counted under: its disposition if closed with one, else its status."""
    return disposition or status


@dataclass
class Tally:
    """Alerts of one rule (or one slice of it) by how they count."""

    true_positive: int = 0
    false_positive: int = 0
    not_judged: int = 0

    def add(self, outcome: str, count: int) -> None:
        if outcome in TRUE_POSITIVE:
            self.true_positive += count
        elif outcome in FALSE_POSITIVE:
            self.false_positive += count
        else:
            self.not_judged += count

    @property
    def judged(self) -> int:
        return self.true_positive + self.false_positive

    @property
    def precision(self) -> float | None:
        return self.true_positive / self.judged if self.judged else None

    @property
    def false_positive_rate(self) -> float | None:
        """Share of judged alerts that were false positives (1 - precision)."""
        return self.false_positive / self.judged if self.judged else None

    def as_json(self) -> dict[str, object]:
        return {
            "true_positive": self.true_positive,
            "false_positive": self.false_positive,
            "not_judged": self.not_judged,
            "precision": _round(self.precision),
            "false_positive_rate": _round(self.false_positive_rate),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass
class LanguageFlag:
    """A rule whose false-positive rate differs too much between two languages."""

    worst: str
    best: str
    worst_rate: float
    best_rate: float

    @property
    def ratio(self) -> float | None:
        """worst / best; ``None`` when the best language has no false positives at all (infinite)."""
        return self.worst_rate / self.best_rate if self.best_rate else None

    def describe(self) -> str:
        ratio = f"{self.ratio:.2f}x" if self.ratio is not None else "infinitely"
        return (
            f"false positives in {self.worst} ({self.worst_rate:.0%}) are {ratio} those in "
            f"{self.best} ({self.best_rate:.0%})"
        )


@dataclass
class RuleAccuracy:
    """One rule's line on the card."""

    rule_id: int
    name: str
    severity: str
    status: str
    total: Tally = field(default_factory=Tally)
    outcomes: Counter[str] = field(default_factory=Counter)
    by_language: dict[str, Tally] = field(default_factory=dict)
    by_platform: dict[str, Tally] = field(default_factory=dict)
    flag: LanguageFlag | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "rule_id": self.rule_id,
            "name": self.name,
            "severity": self.severity,
            "status": self.status,
            **self.total.as_json(),
            "outcomes": dict(sorted(self.outcomes.items())),
            "by_language": {k: v.as_json() for k, v in sorted(self.by_language.items())},
            "by_platform": {k: v.as_json() for k, v in sorted(self.by_platform.items())},
            "language_flag": None
            if self.flag is None
            else {
                "worst": self.flag.worst,
                "best": self.flag.best,
                "worst_rate": _round(self.flag.worst_rate),
                "best_rate": _round(self.flag.best_rate),
                "ratio": _round(self.flag.ratio),
                "reason": self.flag.describe(),
            },
        }


@dataclass
class AccuracyCard:
    generated_at: datetime
    min_sample: int
    rules: list[RuleAccuracy]
    since: datetime | None = None
    until: datetime | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "format": "watchfloor-accuracy-card/1",
            "generated_at": self.generated_at.isoformat(),
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "min_sample": self.min_sample,
            "ratio_limit": RATIO_LIMIT,
            "true_positive": sorted(TRUE_POSITIVE),
            "false_positive": sorted(FALSE_POSITIVE),
            "rules": [r.as_json() for r in self.rules],
        }


def language_flag(by_language: dict[str, Tally], *, min_sample: int) -> LanguageFlag | None:
    """A flag when, among languages with at least ``min_sample`` judged alerts (not "unknown"), the
    highest false-positive rate exceeds :data:`RATIO_LIMIT` times the lowest (or the lowest is 0 and
    the highest is not)."""
    rates = {
        lang: rate
        for lang, tally in by_language.items()
        if lang != UNKNOWN and tally.judged >= min_sample and (rate := tally.false_positive_rate) is not None
    }
    if len(rates) < 2:
        return None
    worst = max(rates, key=lambda k: (rates[k], k))
    best = min(rates, key=lambda k: (rates[k], k))
    high, low = rates[worst], rates[best]
    if high > RATIO_LIMIT * low:
        return LanguageFlag(worst=worst, best=best, worst_rate=high, best_rate=low)
    return None


def _card(
    rows: list[AccuracyCount], names: dict[int, tuple[str, str, str]], min_sample: int
) -> list[RuleAccuracy]:
    found: dict[int, RuleAccuracy] = {}
    for row in rows:
        name, severity, status = names.get(row.rule_id, (f"rule {row.rule_id}", "", "deleted"))
        line = found.setdefault(row.rule_id, RuleAccuracy(row.rule_id, name, severity, status))
        outcome = outcome_of(row.status, row.disposition)
        line.outcomes[outcome] += row.count
        line.total.add(outcome, row.count)
        line.by_language.setdefault(row.lang or UNKNOWN, Tally()).add(outcome, row.count)
        line.by_platform.setdefault(row.platform or UNKNOWN, Tally()).add(outcome, row.count)
    for line in found.values():
        line.flag = language_flag(line.by_language, min_sample=min_sample)
    return [found[k] for k in sorted(found)]


def accuracy_card(
    ctx: ServiceContext, *, actor: Actor, since: datetime | None = None, until: datetime | None = None
) -> AccuracyCard:
    """Precision per rule from analysts' dispositions, by language and platform, with language flags
    (op ``reports.accuracy``; one audit event naming the rules, with counts)."""
    with (
        refusals_recorded(ctx, actor=actor, action="reports.accuracy"),
        ctx.store.transaction() as tx,
    ):
        authorize(actor, "reports.accuracy")
        names: dict[int, tuple[str, str, str]] = {
            r.id: (r.current.name, r.current.severity, r.status) for r in tx.list_rules()
        }
        min_sample = ctx.settings.accuracy_min_sample
        rules = _card(tx.accuracy_counts(start=since, end=until), names, min_sample)
        card = AccuracyCard(ctx.clock.now(), min_sample, rules, since, until)
        objects, digest = object_refs("rule", [r.rule_id for r in rules])
        details: dict[str, DetailValue] = {
            "rules": len(rules),
            "flagged": sum(1 for r in rules if r.flag is not None),
            "alerts": sum(r.total.judged + r.total.not_judged for r in rules),
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            **digest,
        }
        record(
            tx,
            actor=actor,
            action="reports.accuracy",
            at=ctx.clock.now(),
            object_ids=objects,
            details=details,
        )
        return card
