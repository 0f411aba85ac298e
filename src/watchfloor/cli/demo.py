"""`watchfloor demo`: load the bundled real sample data and show what to try."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.markup import escape

from watchfloor.cli.app import app, err, out, state_of
from watchfloor.config import Settings
from watchfloor.connectors.base import MapOptions
from watchfloor.domain.actor import Actor
from watchfloor.domain.rules import RuleDraft
from watchfloor.services.alerts import list_alerts
from watchfloor.services.context import ServiceContext
from watchfloor.services.ingest import import_file
from watchfloor.services.legal import add_basis, list_bases
from watchfloor.services.rules import add_rule, list_rules
from watchfloor.services.search import count_posts
from watchfloor.services.users import add_user, list_users, resolve_actor, set_password
from watchfloor.store.ports import AlertFilter
from watchfloor.wiring import build_context

EXAMPLE_QUERIES = (
    'lang:en (flood OR "water rising") -#prayers since:2012-10-29',
    '("trapped" OR "stranded") NEAR/5 flood*',
    "#sandy has:links",
    "terremoto lang:es",
    "platform:bluesky has:links",
)


def _command_name() -> str:
    """How the user can run watchfloor again from where they are (the venv's script if not on PATH)."""
    script = Path(sys.argv[0])
    if shutil.which("watchfloor") == str(script.resolve()) or not script.exists():
        return "watchfloor"
    try:
        return str(script.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(script.resolve())


DEMO_USERS = (
    ("demo-admin", "admin"),
    ("demo-analyst", "analyst"),
    ("demo-supervisor", "supervisor"),
    ("demo-reviewer", "reviewer"),
    ("demo-auditor", "auditor"),
)
DEMO_PASSWORD = "floor-demo-only-2026"  # noqa: S105  (printed by the demo; labelled demo accounts only)
DEMO_BASIS_TITLE = "DEMO: crisis-response monitoring of public posts"


def _demo_people(service: ServiceContext, loader: Actor) -> tuple[Actor, int]:
    """Create the labelled demo accounts and the demo legal basis (once); return the analyst and basis."""
    existing = {user.name for user in list_users(service, actor=loader)}
    for name, roles in DEMO_USERS:
        if name not in existing:
            add_user(service, actor=loader, name=name, roles=roles, display_name=f"Demo {roles}", demo=True)
            set_password(service, actor=loader, name=name, password=DEMO_PASSWORD)
    basis = next((b for b in list_bases(service, actor=loader) if b.title == DEMO_BASIS_TITLE), None)
    if basis is None:
        basis = add_basis(
            service,
            actor=loader,
            title=DEMO_BASIS_TITLE,
            authority="Demonstration only: no real monitoring takes place under this record",
            purpose="Show how watchfloor records why public posts are collected and searched",
            necessity="Bundled public research datasets; no individuals are targeted",
        )
    return resolve_actor(service, "demo-analyst"), basis.id


def _demo_rules() -> list[RuleDraft]:
    folder = Path(str(resources.files("watchfloor") / "demo"))
    specs = json.loads((folder / "rules.json").read_text(encoding="utf-8"))
    return [msgspec.convert(spec, RuleDraft) for spec in specs]


def _demo_files() -> list[tuple[Path, str, MapOptions]]:
    folder = Path(str(resources.files("watchfloor") / "demo"))
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    files = []
    for entry in manifest:
        options = MapOptions()
        if entry.get("map"):
            spec = json.loads((folder / entry["map"]).read_text(encoding="utf-8"))
            options = MapOptions(platform=spec.get("platform"), column_map=spec.get("columns", {}))
        files.append((folder / entry["path"], entry["format"], options))
    return files


@app.command("demo")
def demo_command(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Option(help="Where to keep the demo database.")] = Path("demo-data"),
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="The port `serve` will use, for the console URL printed.")
    ] = 8000,
) -> None:
    """Load the bundled real sample data (CrisisLex crisis tweets, Bluesky posts) and show what to try.

    Example: watchfloor demo --folder demo-data
    """
    state = state_of(ctx)
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "watchfloor.db"
    service = build_context(Settings(database_url=str(db)))
    state._context = service  # closed with the command
    loader = Actor.system("demo-loader")
    analyst, basis_id = _demo_people(service, loader)
    for draft in _demo_rules():
        if not any(r.current.name == draft.name for r in list_rules(service, actor=analyst)):
            add_rule(service, actor=analyst, draft=msgspec.structs.replace(draft, basis_id=basis_id))
    for path, format_name, options in _demo_files():
        report = import_file(service, actor=loader, path=path, format_name=format_name, options=options)
        run = report.run
        err.print(
            f"Loaded {escape(path.name)}: {run.inserted:,} new posts, {run.duplicates:,} already there, "
            f"{run.quarantined:,} quarantined, {report.alerts_raised:,} alerts raised"
        )
    target = shlex.quote(str(db))
    command = _command_name()
    out.print(f"\n[bold]The demo database is ready:[/bold] {escape(str(db))}\n")
    out.print(
        "[bold]Demo accounts[/bold] (DEMO ONLY: clearly labelled, no second factor; never use in production):"
    )
    for name, roles in DEMO_USERS:
        out.print(f"  {name:<16} {roles:<11} password {DEMO_PASSWORD}")
    out.print(
        f"\nEvery command acts as a named user under a legal basis (demo basis {basis_id}). First run:\n\n"
        f"  export WATCHFLOOR_USER={analyst.name} WATCHFLOOR_BASIS={basis_id}\n"
    )
    out.print("Try these (the number is how many posts each finds now):\n")
    for query in EXAMPLE_QUERIES:
        found = count_posts(service, actor=analyst, query=query, basis_id=basis_id)
        out.print(f"  [{found:>5,}]  {command} --db {target} search {escape(shlex.quote(query))}")
    open_alerts = list_alerts(
        service, actor=analyst, where=AlertFilter(statuses=("open", "claimed")), limit=10_000
    )
    out.print(f"\n{len(open_alerts):,} alerts are waiting in the queue from the demo rules:\n")
    out.print(f"  {command} --db {target} alerts list")
    out.print(f"  {command} --db {target} alerts show {open_alerts[0].alert.id if open_alerts else 1}")
    out.print(f"  {command} --db {target} alerts claim ID")
    out.print(f"  {command} --db {target} handover")
    out.print(f"  {command} --db {target} rules list")
    out.print(f"\n  {command} --db {target} stats")
    out.print(f"  {command} --db {target} exports request '#sandy' --recipient 'press desk' --title Sandy")
    out.print(f"  {command} --db {target} --as demo-auditor audit verify")
    out.print(
        f"\n[bold]The web console[/bold]: start it with `{command} --db {target} serve --port {port}` "
        f"(`make demo` does), then open [bold]http://127.0.0.1:{port}/[/bold] and sign in as one of the "
        f"demo accounts above with password {DEMO_PASSWORD} (no second factor): {analyst.name} for the "
        "alert queue and search, demo-auditor for the audit log under Admin."
    )
