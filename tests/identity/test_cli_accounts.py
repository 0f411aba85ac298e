"""Accounts from the command line, as an admin and a user run them: a real process and a real file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pyotp
import pytest

PASSWORD = "correct horse battery staple"


def wf(
    db: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None, code: int = 0
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("WATCHFLOOR_")}
    environ |= {"WATCHFLOOR_PASSWORD_HASH_MEMORY_KIB": "1024", "WATCHFLOOR_PASSWORD_HASH_TIME_COST": "1"}
    environ["COLUMNS"] = "200"  # tables unwrapped
    done = subprocess.run(
        [sys.executable, "-m", "watchfloor.cli.main", "--db", str(db), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=environ | (env or {}),
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == code, (done.stdout, done.stderr)
    return done


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "floor.db"


def test_accounts_end_to_end(db: Path) -> None:
    wf(db, "init", "--admin", "alex")
    assert "already has users" in wf(db, "init", "--admin", "eve", code=1).stderr
    wf(db, "--as", "alex", "users", "add", "sam", "--roles", "analyst")
    wf(db, "--as", "alex", "users", "roles", "sam", "--set", "analyst,reviewer")
    assert (
        "at least 12"
        in wf(
            db, "--as", "alex", "users", "passwd", "sam", "--password-stdin", stdin="short\n", code=2
        ).stderr
    )
    wf(
        db, "--as", "alex", "users", "passwd", "sam", "--password-stdin", stdin=f" {PASSWORD} \n"
    )  # spaces kept

    no_factor = wf(db, "users", "login", "sam", "--password-stdin", stdin=f" {PASSWORD} \n\n", code=1)
    assert "watchfloor users totp sam" in no_factor.stderr
    enrolled = wf(db, "--as", "alex", "users", "totp", "sam").stdout
    secret = re.search(r"secret: ([A-Z2-7]{32})", enrolled)
    assert secret is not None and "otpauth://totp/watchfloor:sam?secret=" in enrolled
    totp = pyotp.TOTP(secret.group(1))

    wrong = wf(
        db, "users", "login", "sam", "--password-stdin", "--code", totp.now(), stdin=f"{PASSWORD}\n", code=1
    )
    assert "wrong name, password or code" in wrong.stderr  # the password without its spaces is wrong
    unknown = wf(
        db, "users", "login", "nobody", "--password-stdin", "--code", "123456", stdin=f"{PASSWORD}\n", code=1
    )
    assert unknown.stderr == wrong.stderr
    signed_in = wf(db, "users", "login", "sam", "--password-stdin", stdin=f" {PASSWORD} \n{totp.now()}\n")
    assert "Signed in as 'sam'" in signed_in.stdout
    assert re.search(r"^[A-Za-z0-9_-]{43,}$", signed_in.stdout, re.MULTILINE)

    created = wf(db, "--as", "sam", "tokens", "create", "--label", "nightly-export", "--days", "30").stdout
    token = created.strip().splitlines()[-1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", token)
    as_token = {"WATCHFLOOR_TOKEN": token}
    listed = wf(db, "tokens", "list", env=as_token).stdout
    assert "nightly-export" in listed and "active" in listed and token not in listed
    refused = wf(db, "users", "list", env=as_token, code=1)  # the token acts as sam, a reviewer-analyst
    assert "sam (analyst, reviewer) may not list users" in refused.stderr
    users = wf(db, "--as", "alex", "users", "list").stdout
    assert "sam" in users and "analyst, reviewer" in users and "enrolled" in users

    token_id = re.search(r"Token (\d+)", created)
    assert token_id is not None
    wf(db, "tokens", "revoke", token_id.group(1), env=as_token)
    assert "API token is not valid" in wf(db, "tokens", "list", env=as_token, code=1).stderr
    assert "revoked" in wf(db, "--as", "sam", "tokens", "list").stdout

    wf(db, "--as", "alex", "users", "disable", "sam")
    assert "disabled" in wf(db, "--as", "sam", "tokens", "list", code=1).stderr
    assert "last enabled admin" in wf(db, "--as", "alex", "users", "disable", "alex", code=1).stderr
    wf(db, "--as", "alex", "users", "enable", "sam")
    wf(db, "--as", "alex", "users", "totp", "sam", "--reset")
    assert "Ended 0 sessions" in wf(db, "--as", "alex", "users", "signout", "sam").stdout


def test_every_command_has_help_with_an_example(db: Path) -> None:
    for command in (
        ["users", "roles"],
        ["users", "disable"],
        ["users", "enable"],
        ["users", "passwd"],
        ["users", "totp"],
        ["users", "login"],
        ["users", "signout"],
        ["tokens", "create"],
        ["tokens", "list"],
        ["tokens", "revoke"],
    ):
        assert "Example" in wf(db, *command, "--help").stdout, command
