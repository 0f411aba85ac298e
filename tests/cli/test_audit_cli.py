"""`watchfloor audit ...` as an operator and an outside auditor use it.

Most commands run in-process through the real entry point (same parsing, same error handling, same
exit codes, without paying a Python start-up per command); one test runs real processes end to end,
including the verifier copied out on its own.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.accountability.conftest import SIGNING_KEY
from tests.cli.floor import ENV, seed_floor
from watchfloor import auditverify
from watchfloor.accountability.notes import load_signing_key, verifier_key
from watchfloor.cli.main import run

ORIGIN = "floor.example.org/audit"


class Cli:
    """Runs `watchfloor --db DB ...` in-process and returns (exit code, stdout, stderr)."""

    def __init__(self, db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.db, self.capsys, self.monkeypatch = db, capsys, monkeypatch
        monkeypatch.setenv("WATCHFLOOR_AUDIT_ORIGIN", ORIGIN)
        monkeypatch.setenv("WATCHFLOOR_AUDIT_SIGNING_KEY", SIGNING_KEY)
        for name, value in {**ENV, "WATCHFLOOR_USER": "maria"}.items():  # maria keeps the log
            monkeypatch.setenv(name, value)

    def __call__(self, *args: str, code: int = 0) -> tuple[str, str]:
        if not self.db.exists() and "keygen" not in args:
            seed_floor(str(self.db))  # users and basis 1, as an admin would have set them up
        self.capsys.readouterr()
        self.monkeypatch.setattr(sys, "argv", ["watchfloor", "--db", str(self.db), *args])
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
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(tmp_path / "floor.db", capsys, monkeypatch)


def _events(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def test_keygen_prints_a_usable_key_pair(cli: Cli) -> None:
    out, _ = cli("audit", "keygen", "--origin", "other.example/log")
    lines = [line for line in out.splitlines() if not line.startswith("#")]
    assert (
        lines[0].startswith("WATCHFLOOR_AUDIT_SIGNING_KEY=")
        and lines[1] == "WATCHFLOOR_AUDIT_ORIGIN=other.example/log"
    )
    assert auditverify.parse_verifier_key(lines[2]).name == "other.example/log"
    assert not cli.db.exists()  # no database needed, none created


def test_checkpoint_verify_and_log(cli: Cli, tmp_path: Path) -> None:
    kept = tmp_path / "kept.txt"
    note, err = cli("audit", "checkpoint", "-o", str(kept))
    assert "Signed a checkpoint of 1 event." in err
    assert note.startswith(f"{ORIGIN}\n1\n") and kept.read_text(encoding="utf-8") == note
    _, err = cli("audit", "checkpoint")
    assert "No events since the last checkpoint" in err

    vkey, _ = cli("audit", "public-key")
    out, _ = cli("audit", "verify", "--checkpoint", str(kept), "--key", vkey.strip())
    assert "Audit log verified: 1 event" in out
    assert f"tree of the first 1 event has the root of checkpoint {kept}" in out

    first, _ = cli("--as", "maria", "audit", "log", "--format", "ndjson")
    assert [e["action"] for e in _events(first)] == ["audit.verify", "audit.checkpoint"]
    second, _ = cli(
        "--as", "audrey", "audit", "log", "--format", "ndjson", "--actor", "maria", "--action", "audit.read"
    )  # fmt: skip
    (read,) = _events(second)
    assert read["action"] == "audit.read" and read["actor"] == "maria"  # the first listing, recorded
    table, err = cli("audit", "log", "--format", "table", "--action", "audit.read", "--limit", "1")
    assert "audit.read" in table and "1 event" in err


def test_verify_after_tampering_exits_1_and_says_what_failed(cli: Cli, tmp_path: Path) -> None:
    kept = tmp_path / "kept.txt"
    cli("audit", "log", "--format", "ndjson")
    cli("audit", "checkpoint", "-o", str(kept))
    with sqlite3.connect(cli.db) as conn:
        conn.execute("UPDATE audit_events SET leaf = replace(leaf, 'maria', 'mallory') WHERE seq = 0")
    conn.close()
    _, err = cli("audit", "verify", "--checkpoint", str(kept), code=1)
    assert "Audit log verification FAILED" in err
    assert "leaf 0 does not match its stored hash" in err


def test_a_restored_backup_is_refused_by_the_signer_and_flagged_by_the_verifier(
    cli: Cli, tmp_path: Path
) -> None:
    kept, backup = tmp_path / "kept.txt", tmp_path / "backup.db"
    cli("audit", "checkpoint")
    shutil.copyfile(cli.db, backup)  # the store is closed between commands: a plain copy is a backup
    cli("audit", "log", "--format", "ndjson")
    cli("audit", "checkpoint", "-o", str(kept))
    shutil.copyfile(backup, cli.db)
    _, err = cli("audit", "checkpoint", code=1)
    assert "log has 1 events but a checkpoint of size 3 was already signed" in err and "rolled back" in err
    _, err = cli("audit", "verify", "--checkpoint", str(kept), code=1)
    assert "tree of size 1 is not consistent with checkpoint" in err


def test_missing_keys_and_untrusted_checkpoints_are_explained(cli: Cli, tmp_path: Path) -> None:
    kept = tmp_path / "kept.txt"
    cli("audit", "checkpoint", "-o", str(kept))
    out, _ = cli("audit", "keygen")
    stranger = out.splitlines()[-1]
    _, err = cli("audit", "verify", "--checkpoint", str(kept), "--key", stranger, code=1)
    assert "cannot be trusted: no valid signature by a trusted key" in err
    cli.monkeypatch.delenv("WATCHFLOOR_AUDIT_SIGNING_KEY")
    _, err = cli("audit", "checkpoint", code=1)
    assert "no audit signing key is configured" in err and "watchfloor audit keygen" in err


def test_a_user_name_with_control_characters_is_refused_not_logged(cli: Cli) -> None:
    _, err = cli("--as", "eve\x1b[2J", "audit", "log", code=2)
    assert "control characters" in err


def test_end_to_end_with_real_processes_and_the_copied_verifier(tmp_path: Path) -> None:
    db, kept = tmp_path / "floor.db", tmp_path / "kept.txt"
    env = {"WATCHFLOOR_AUDIT_SIGNING_KEY": SIGNING_KEY, "WATCHFLOOR_AUDIT_ORIGIN": ORIGIN, "PATH": ""}
    env["WATCHFLOOR_USER"] = "root"
    seed_floor(str(db))  # no events: users and the basis are set up straight in the store
    command = ["audit", "checkpoint", "-o", str(kept)]
    signed = subprocess.run(
        [sys.executable, "-m", "watchfloor.cli.main", "--db", str(db), *command],
        capture_output=True, text=True, timeout=120, check=False, env=env,
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    verifier = tmp_path / "auditverify.py"
    shutil.copyfile(auditverify.__file__, verifier)
    vkey = verifier_key(ORIGIN, load_signing_key(SIGNING_KEY))

    def standalone() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-I", str(verifier), str(db), "--checkpoint", str(kept), "--key", vkey],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    ok = standalone()
    assert ok.returncode == 0 and "verified: 1 event," in ok.stdout, ok.stdout + ok.stderr
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM audit_events WHERE seq = 0")
    conn.close()
    failed = standalone()
    assert failed.returncode == 1
    assert "is not consistent with checkpoint" in failed.stdout
