"""`watchfloor media fetch | status | show` as an operator and an analyst run them."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.floor import ENV, seed_floor
from tests.media.helpers import import_statuses
from tests.media.server import MediaServer
from tests.services import scratch_postgres_database
from watchfloor.cli.main import run
from watchfloor.config import Settings
from watchfloor.connectors.media.fetch import MediaFetcher
from watchfloor.pipeline.media import EnrichSettings
from watchfloor.services.media import MEDIA_FETCHER, fetch_due_media
from watchfloor.wiring import build_context

from .conftest import TEST_LIMITS


class Cli:
    """Runs `watchfloor --db DB ...` in-process through the real entry point; returns (stdout, stderr)."""

    def __init__(self, db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.db, self.capsys, self.monkeypatch = db, capsys, monkeypatch
        for name, value in ENV.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("COLUMNS", "200")

    def __call__(self, *args: str, code: int = 0, user: str = "ana") -> tuple[str, str]:
        self.capsys.readouterr()
        self.monkeypatch.setattr(sys, "argv", ["watchfloor", "--db", self.db, "--as", user, *args])
        try:
            run()
            got = 0
        except SystemExit as exc:
            got = int(exc.code or 0)
        out, err = self.capsys.readouterr()
        assert "Traceback" not in err, err
        assert got == code, (got, out, err)
        return out, err


@pytest.fixture
def floor(tmp_path: Path) -> str:
    db = str(tmp_path / "floor.db")
    seed_floor(db)
    return db


def test_fetch_status_and_show(
    floor: str,
    tmp_path: Path,
    media_server: MediaServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cli = Cli(floor, capsys, monkeypatch)
    ctx = build_context(Settings(database_url=floor))
    try:
        import_statuses(
            ctx,
            tmp_path,
            {
                "1": [("image", media_server.url("/red.png"))],
                "2": [("image", media_server.url("/redirect?to=http://169.254.169.254/latest/meta-data/"))],
            },
        )
        # The CLI's fetcher runs with the production policy: the loopback test server itself is refused.
        _, err = cli("media", "fetch", "--limit", "10")
        assert "Media: 0 fetched, 0 reused, 0 to retry, 0 failed, 2 refused of 2 due" in err
        assert media_server.hits("/red.png") == 0 and media_server.hits("/redirect") == 0

        # A fetcher allowed to reach the loopback server stores a file for a third post.
        import_statuses(ctx, tmp_path, {"3": [("image", media_server.url("/blue.jpg"))]})
        with MediaFetcher(TEST_LIMITS) as fetcher:
            summary = fetch_due_media(
                ctx, actor=MEDIA_FETCHER, fetcher=fetcher, enrich_settings=EnrichSettings()
            )
        assert summary.fetched == 1
    finally:
        ctx.store.close()

    out, _ = cli("media", "status")
    assert "refused" in out and "fetched" in out
    assert "a loopback address" in out
    assert f"{floor}.media" in out and "1 files" in out

    blue = hashlib.sha256(media_server.files["/blue.jpg"][1]).hexdigest()
    out, _ = cli("media", "show", blue.upper())
    assert "image/jpeg" in out and "48 × 32" in out and "pHash" in out
    assert f"{floor}.media/{blue[:2]}/{blue[2:4]}/{blue}" in out

    _, err = cli("media", "show", "not-a-hash", code=2)
    assert "not a SHA-256" in err
    _, err = cli("media", "show", "0" * 64, code=1)
    assert "no stored media file" in err
    _, err = cli("media", "status", code=1, user="rita")
    assert "may not see the media queue" in err


def test_fetch_loop_stops_on_sigterm(floor: str) -> None:
    env = {**os.environ, **ENV}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "watchfloor.cli.main",
            "--db",
            floor,
            "media",
            "fetch",
            "--loop",
            "--every",
            "1",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


@pytest.mark.postgres
def test_postgres_without_a_media_directory_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with scratch_postgres_database() as url:
        seed_floor(url)
        cli = Cli(url, capsys, monkeypatch)
        monkeypatch.delenv("WATCHFLOOR_MEDIA_DIR", raising=False)
        _, err = cli("media", "fetch", code=1)
        assert "no media directory is set" in err and "WATCHFLOOR_MEDIA_DIR" in err
        out, _ = cli("media", "status")
        assert "not set (WATCHFLOOR_MEDIA_DIR)" in out


def test_show_lists_region_hashes_and_what_enrichment_could_not_do(
    floor: str,
    tmp_path: Path,
    media_server: MediaServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cli = Cli(floor, capsys, monkeypatch)
    ctx = build_context(Settings(database_url=floor))
    try:
        import_statuses(ctx, tmp_path, {"1": [("image", media_server.url("/blue.jpg"))]})
        no_tesseract = EnrichSettings(tesseract_cmd=str(tmp_path / "no-such-tesseract"))
        with MediaFetcher(TEST_LIMITS) as fetcher:
            summary = fetch_due_media(ctx, actor=MEDIA_FETCHER, fetcher=fetcher, enrich_settings=no_tesseract)
        assert summary.fetched == 1
    finally:
        ctx.store.close()
    blue = hashlib.sha256(media_server.files["/blue.jpg"][1]).hexdigest()
    out, _ = cli("media", "show", blue)
    assert "Notes from enrichment:" in out
    assert "OCR unavailable: tesseract" in out and "no-such-tesseract" in out
    for region in ("centre 80%", "top 80%", "bottom 80%"):
        assert f"hashes, {region}" in out
