"""Legal bases and named-account watches (watchfloor basis, watches)."""

from __future__ import annotations

import enum
import sys
from datetime import UTC, date, datetime
from typing import Annotated

import msgspec
import typer
from rich.table import Table
from rich.text import Text

from watchfloor.cli.app import app, err, out, state_of
from watchfloor.domain.errors import InputError
from watchfloor.domain.oversight import LegalBasis, Watch
from watchfloor.services.legal import add_basis, list_bases, retire_basis, show_basis
from watchfloor.services.watches import (
    WATCH_STATES,
    WatchView,
    approve_watch,
    cancel_watch,
    deny_watch,
    list_watches,
    renew_watch,
    request_watch,
)

basis_app = typer.Typer(
    help="Legal bases: why monitoring is lawful. Every rule, watch, case and search names one.",
    no_args_is_help=True,
)
watches_app = typer.Typer(
    help="Named-account watches: approved, expiring authorisations to monitor one account.",
    no_args_is_help=True,
)
app.add_typer(basis_app, name="basis")
app.add_typer(watches_app, name="watches")


class ListFormat(enum.StrEnum):
    table = "table"
    json = "json"


def _day(value: str | None, option: str) -> datetime | None:
    """``YYYY-MM-DD`` -> 00:00 UTC that day."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"{option} {value!r}: expected a date as YYYY-MM-DD, e.g. 2027-03-31") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _when(value: datetime | None) -> str:
    return "—" if value is None else f"{value:%Y-%m-%d %H:%M}"


def _print_basis(basis: LegalBasis, now: datetime) -> None:
    out.print(Text(f"basis {basis.id}: {basis.title}", style="bold"))
    rows = (
        ("state", basis.state(now)),
        ("authority", basis.authority),
        ("purpose", basis.purpose),
        ("necessity", basis.necessity),
        ("owner", basis.owner),
        ("review", _when(basis.review_at)),
        ("expires", _when(basis.expires_at)),
        ("created", f"{_when(basis.created_at)} by {basis.created_by}"),
    )
    for label, value in rows:
        out.print(Text(f"  {label:<10} {value}"))
    if basis.retired_at is not None:
        out.print(
            Text(f"  {'retired':<10} {_when(basis.retired_at)} by {basis.retired_by}: {basis.retired_reason}")
        )


@basis_app.command("add")
def basis_add(
    ctx: typer.Context,
    title: Annotated[str, typer.Option("--title", help="A short name people will recognise.")],
    authority: Annotated[str, typer.Option("--authority", help="The law, licence or mandate relied on.")],
    purpose: Annotated[str, typer.Option("--purpose", help="What the monitoring is for.")],
    necessity: Annotated[
        str, typer.Option("--necessity", help="Why it is necessary and proportionate (and its limits).")
    ],
    owner: Annotated[str | None, typer.Option("--owner", help="Who answers for it (default: you).")] = None,
    review: Annotated[str | None, typer.Option("--review", help="Review date, YYYY-MM-DD.")] = None,
    expires: Annotated[
        str | None, typer.Option("--expires", help="Expiry date, YYYY-MM-DD: what hangs on it stops then.")
    ] = None,
) -> None:
    """Record a legal basis (supervisors and admins) and print its id.

    Example: watchfloor basis add --title "Storm response" --authority "Civil Contingencies Act 2004"
    --purpose "Find people asking for rescue" --necessity "Public posts only, storm period"
    --expires 2027-03-31
    """
    state = state_of(ctx)
    service = state.context()
    basis = add_basis(
        service,
        actor=state.actor(),
        title=title,
        authority=authority,
        purpose=purpose,
        necessity=necessity,
        owner=owner,
        review_at=_day(review, "--review"),
        expires_at=_day(expires, "--expires"),
    )
    out.print(f"basis {basis.id} created")
    err.print(f"Work under it with --basis {basis.id}, or set WATCHFLOOR_BASIS={basis.id}.")


@basis_app.command("list")
def basis_list(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Also expired and retired bases.")] = False,
) -> None:
    """List the legal bases in force (or all of them).

    Example: watchfloor basis list --all
    """
    state = state_of(ctx)
    service = state.context()
    now = service.clock.now()
    table = Table("id", "state", "title", "owner", "review", "expires", box=None)
    for basis in list_bases(service, actor=state.actor(), include_inactive=show_all):
        review, expires = basis.review_at, basis.expires_at
        table.add_row(
            str(basis.id),
            basis.state(now),
            Text(basis.title),
            Text(basis.owner),
            "—" if review is None else f"{review:%Y-%m-%d}",
            "—" if expires is None else f"{expires:%Y-%m-%d}",
        )
    out.print(table)


@basis_app.command("show")
def basis_show(ctx: typer.Context, basis_id: Annotated[int, typer.Argument(help="Basis id.")]) -> None:
    """Show one legal basis in full.

    Example: watchfloor basis show 2
    """
    state = state_of(ctx)
    service = state.context()
    _print_basis(show_basis(service, actor=state.actor(), basis_id=basis_id), service.clock.now())


@basis_app.command("retire")
def basis_retire(
    ctx: typer.Context,
    basis_id: Annotated[int, typer.Argument(help="Basis id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it no longer applies.")],
) -> None:
    """Retire a legal basis now: rules under it pause at the next sweep, watches under it stop at once.

    Example: watchfloor basis retire 2 --reason "storm response stood down"
    """
    state = state_of(ctx)
    service = state.context()
    basis = retire_basis(service, actor=state.actor(), basis_id=basis_id, reason=reason)
    out.print(f"basis {basis.id} retired")


def _print_watch(watch: Watch, headline: str) -> None:
    where = f" on {watch.platform}" if watch.platform else ""
    out.print(Text(f"watch {watch.id}: @{watch.subject}{where} {headline}", style="bold"))
    if watch.expires_at is not None:
        out.print(Text(f"  in force {_when(watch.starts_at)} to {_when(watch.expires_at)} UTC"))


@watches_app.command("request")
def watches_request(
    ctx: typer.Context,
    handle: Annotated[str, typer.Argument(help="The account's handle or platform id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why watching it is necessary and proportionate.")],
    basis: Annotated[
        int | None, typer.Option("--basis", help="Legal basis id (default: the global --basis).")
    ] = None,
    days: Annotated[int | None, typer.Option("--days", help="How long, from approval (default 90).")] = None,
    platform: Annotated[
        str | None, typer.Option("--platform", help="Only on this platform (default: any).")
    ] = None,
) -> None:
    """Ask for a watch on one account; a supervisor other than you must approve it.

    Example: watchfloor --basis 2 watches request @storm_threats --reason "threats to rescue crews"
    --days 30
    """
    state = state_of(ctx)
    watch = request_watch(
        state.context(),
        actor=state.actor(),
        subject=handle,
        basis_id=basis if basis is not None else state.basis_id(),
        reason=reason,
        days=days,
        platform=platform,
    )
    _print_watch(watch, f"requested for {watch.days} days")
    err.print(f"A supervisor other than you approves it with `watchfloor watches approve {watch.id}`.")


@watches_app.command("approve")
def watches_approve(
    ctx: typer.Context,
    watch_id: Annotated[int, typer.Argument(help="Watch id.")],
    note: Annotated[str | None, typer.Option("--note", help="Why it is approved (kept).")] = None,
) -> None:
    """Approve a requested watch (supervisors; never your own request). It runs from now.

    Example: watchfloor watches approve 4 --note "necessary: credible threats"
    """
    state = state_of(ctx)
    _print_watch(
        approve_watch(state.context(), actor=state.actor(), watch_id=watch_id, note=note), "approved"
    )


@watches_app.command("deny")
def watches_deny(
    ctx: typer.Context,
    watch_id: Annotated[int, typer.Argument(help="Watch id.")],
    note: Annotated[str, typer.Option("--note", help="Why it is denied.")],
) -> None:
    """Deny a requested watch, saying why (supervisors; never your own request).

    Example: watchfloor watches deny 4 --note "not proportionate: use a keyword rule"
    """
    state = state_of(ctx)
    _print_watch(deny_watch(state.context(), actor=state.actor(), watch_id=watch_id, note=note), "denied")


@watches_app.command("cancel")
def watches_cancel(
    ctx: typer.Context,
    watch_id: Annotated[int, typer.Argument(help="Watch id.")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why it ends now.")] = None,
) -> None:
    """End a requested or approved watch now (its requester, or a supervisor).

    Example: watchfloor watches cancel 4 --reason "threat resolved"
    """
    state = state_of(ctx)
    watch = cancel_watch(state.context(), actor=state.actor(), watch_id=watch_id, reason=reason)
    _print_watch(watch, "cancelled")


@watches_app.command("renew")
def watches_renew(
    ctx: typer.Context,
    watch_id: Annotated[int, typer.Argument(help="The approved or expired watch to continue.")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why it is still needed.")] = None,
    days: Annotated[int | None, typer.Option("--days", help="How long (default: as before).")] = None,
) -> None:
    """Ask to continue a watch: a new request that needs a new approval.

    Example: watchfloor watches renew 4 --reason "threats continue after the storm"
    """
    state = state_of(ctx)
    watch = renew_watch(state.context(), actor=state.actor(), watch_id=watch_id, reason=reason, days=days)
    _print_watch(watch, f"renewal of watch {watch_id} requested for {watch.days} days")
    err.print(f"A supervisor other than you approves it with `watchfloor watches approve {watch.id}`.")


def _state_text(view: WatchView) -> str:
    if view.stopped_by_basis:
        return f"{view.state} (basis {view.basis_state})"
    return view.state


@watches_app.command("list")
def watches_list(
    ctx: typer.Context,
    state_filter: Annotated[
        str | None, typer.Option("--state", help=f"Only watches in this state: {', '.join(WATCH_STATES)}.")
    ] = None,
    output: Annotated[ListFormat, typer.Option("--format", help="table or json.")] = ListFormat.table,
) -> None:
    """The register: every named-account watch, its state now, who asked and who approved.

    Example: watchfloor watches list --state approved --format json
    """
    state = state_of(ctx)
    views = list_watches(state.context(), actor=state.actor(), state=state_filter)
    if output is ListFormat.json:
        records = [{**msgspec.to_builtins(v.watch), "state": v.state, "in_force": v.in_force} for v in views]
        sys.stdout.buffer.write(msgspec.json.encode(records) + b"\n")
        return
    table = Table("id", "account", "platform", "state", "basis", "requester", "approver", "expires", box=None)
    for view in views:
        w = view.watch
        table.add_row(
            str(w.id),
            Text(f"@{w.subject}"),
            w.platform or "any",
            _state_text(view),
            str(w.basis_id),
            Text(w.requester),
            Text(w.approver or "—"),
            _when(w.expires_at),
        )
    out.print(table)
    err.print(f"{len(views)} watches, {sum(v.in_force for v in views)} in force.")
