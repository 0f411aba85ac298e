"""Entry point: registers every command group and turns errors into messages, never tracebacks."""

from __future__ import annotations

import gc
import sys

import typer
from rich.markup import escape
from typer._click.exceptions import ClickException  # typer 0.29 vendors its own click

from watchfloor.cli import (  # noqa: F401  (registers commands)
    alerts,
    audit,
    casework,
    demo,
    images,
    imports,
    jobs,
    media,
    oversight,
    posts,
    reports,
    rules,
    search,
    serve,
    sources,
    status,
    users,
    worker,
)
from watchfloor.cli import run as run_command  # noqa: F401  (registers `watchfloor run`)
from watchfloor.cli.app import app, err
from watchfloor.domain.errors import InputError, QuerySyntaxError, WatchfloorError

EXIT_INPUT = 2
# Python's default cyclic-GC threshold (700 allocations) runs a young-generation collection every few
# hundred objects; an import allocates millions of short-lived, acyclic objects (parsed JSON, posts), so
# the collector cost about 12% of `watchfloor import`'s CPU. Collecting every 50,000 allocations keeps
# memory bounded (cycles are rare here) and costs nothing measurable elsewhere.
GC_THRESHOLD = (50_000, 50, 100)


def run() -> None:
    """Run the CLI with watchfloor's error handling (the console script)."""
    gc.set_threshold(*GC_THRESHOLD)
    try:
        code = app(standalone_mode=False)  # returns typer.Exit's code instead of raising it
        if isinstance(code, int) and code:
            sys.exit(code)
    except typer.Abort:
        err.print("Aborted.")
        sys.exit(130)
    except ClickException as exc:  # usage errors: a missing option, an unknown command, a bad value
        exc.show()
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except QuerySyntaxError as exc:
        err.print(f"[red]Query error:[/red] {escape(exc.render())}")
        sys.exit(EXIT_INPUT)
    except InputError as exc:
        err.print(f"[red]Error:[/red] {escape(str(exc))}")
        sys.exit(EXIT_INPUT)
    except WatchfloorError as exc:
        err.print(f"[red]Error:[/red] {escape(str(exc))}")
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("Interrupted.")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:  # the last line of defence: never a bare traceback for a user
        if "--debug" in sys.argv:
            raise
        err.print(
            f"[red]Unexpected error:[/red] {escape(type(exc).__name__)}: {escape(str(exc))}\n"
            "This is a bug in watchfloor; please report it with the command you ran "
            "(re-run with --debug for the full traceback)."
        )
        sys.exit(70)


typer_app = app  # for tests that use typer.testing.CliRunner

if __name__ == "__main__":
    run()
