"""`sources add --kind telegram-web|tiktok-research` and `watchfloor run`, as an operator runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.cli.floor import ENV
from tests.cli.test_cli import wf
from tests.live_platforms.telegram_fake import CHANNEL, FakeTelegramWeb, telegram

__all__ = ["telegram"]  # the fixture, imported so pytest finds it

SAM = {"WATCHFLOOR_USER": "sam"}


def test_both_kinds_are_added_with_set_and_named_accounts_are_warned_about(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    added = wf(
        db, "sources", "add", "floods-tg", "--kind", "telegram-web", "--set", f"channel=@{CHANNEL}", env=SAM
    )
    assert "Added source floods-tg (telegram-web" in added.stdout
    assert f"no watch in force (telegram:{CHANNEL})" in added.stderr  # a channel is an account
    tiktok = (
        "--kind", "tiktok-research", "--every", "3600", "--set", "client_key_env=TIKTOK_CLIENT_KEY",
        "--set", "client_secret_env=TIKTOK_CLIENT_SECRET",
    )  # fmt: skip
    added = wf(db, "sources", "add", "floods-tt", *tiktok, "--set", 'keywords=["flood"]', env=SAM)
    assert "Added source floods-tt (tiktok-research" in added.stdout
    person = wf(db, "sources", "add", "one", *tiktok, "--set", 'usernames=["someone"]', env=SAM)
    assert "Warning: it collects from named accounts with no watch in force (tiktok:someone)" in person.stderr
    assert "watchfloor watches request someone --platform tiktok" in person.stderr
    secret = wf(db, "sources", "add", "two", *tiktok, "--set", "client_secret=hunter2", env=SAM, check=False)
    assert secret.returncode != 0 and "must not be written" in secret.stderr
    listed = wf(db, "sources", "list").stdout
    assert "floods-tg" in listed and "floods-tt" in listed and "one" in listed.split()
    assert "two" not in listed.split()


def test_run_collects_a_channel_from_the_fake_preview(tmp_path: Path, telegram: FakeTelegramWeb) -> None:
    db = tmp_path / "r.db"
    settings = ("--set", f"channel={CHANNEL}", "--set", f"base_url={telegram.url}")
    wf(db, "sources", "add", "floods", "--kind", "telegram-web", *settings, env=SAM)
    wf(db, "watches", "request", CHANNEL, "--platform", "telegram", "--reason", "flood updates")  # as ana
    wf(db, "watches", "approve", "1", env=SAM)  # a second person approves: the channel may be collected
    proc = subprocess.Popen(
        [sys.executable, "-m", "watchfloor.cli.main", "--db", str(db), "run", "--no-media"],
        env={**os.environ, **ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    seen: list[str] = []
    while not any('"event": "batch"' in line for line in seen):
        line = proc.stderr.readline()
        assert line, "".join(seen)
        seen.append(line)
    proc.send_signal(signal.SIGTERM)
    _, rest = proc.communicate(timeout=60)
    assert proc.returncode == 0, rest
    status = wf(db, "sources", "status").stdout
    assert "floods" in status and " 7 " in status  # seven posts from the newest page
