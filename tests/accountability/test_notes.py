"""Checkpoint notes: the C2SP format, signing keys, and the verifier's view of both."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from watchfloor import auditverify
from watchfloor.accountability.notes import (
    check_origin,
    generate_signing_key,
    key_id,
    load_signing_key,
    open_checkpoint_note,
    sign_checkpoint_note,
    verifier_key,
)
from watchfloor.domain.errors import ConfigError

ORIGIN = "floor.example.org/audit"
KEY = load_signing_key(base64.b64encode(bytes(range(32))).decode())
ROOT = hashlib.sha256(b"root").digest()


def test_a_checkpoint_is_a_c2sp_signed_note_the_verifier_accepts() -> None:
    note = sign_checkpoint_note(ORIGIN, 1234, ROOT, KEY)
    text, signature = note.split("\n\n")
    assert text == f"{ORIGIN}\n1234\n{base64.b64encode(ROOT).decode()}"
    assert signature.startswith(f"— {ORIGIN} ") and signature.endswith("\n")
    vkey = auditverify.parse_verifier_key(verifier_key(ORIGIN, KEY))
    assert auditverify.open_checkpoint(note, [vkey]) == auditverify.SignedCheckpoint(ORIGIN, 1234, ROOT)
    assert open_checkpoint_note(note, origin=ORIGIN, key=KEY) == (ORIGIN, 1234, ROOT)


def test_witness_cosignatures_are_ignored_unless_trusted() -> None:
    note = sign_checkpoint_note(ORIGIN, 5, ROOT, KEY)
    witness = Ed25519PrivateKey.generate()
    text = note.split("\n\n")[0] + "\n"
    line = base64.b64encode(key_id("witness.example", witness) + witness.sign(text.encode())).decode()
    cosigned = f"{note}— witness.example {line}\n"
    log_key = auditverify.parse_verifier_key(verifier_key(ORIGIN, KEY))
    witness_key = auditverify.parse_verifier_key(verifier_key("witness.example", witness))
    assert auditverify.open_checkpoint(cosigned, [log_key]).size == 5
    assert auditverify.open_checkpoint(cosigned, [log_key, witness_key]).size == 5
    with pytest.raises(ValueError, match="no valid signature"):
        auditverify.open_checkpoint(cosigned, [witness_key])  # a witness alone is not the log


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda n: n.replace("\n1234\n", "\n1235\n"), "does not verify"),
        (lambda n: n.replace(ORIGIN, "other.example/audit", 1), "does not verify"),
        (lambda n: n.replace(ORIGIN, "other.example/audit"), "no valid signature"),
        (lambda n: n.replace("\n\n", "\n"), "not a signed note"),
        (lambda n: n.replace("1234", "01234"), "leading zeros"),
        (lambda n: n.replace(base64.b64encode(ROOT).decode(), "AAAA"), "base64 of 32 bytes"),
        (lambda n: n.replace("\n\n", "\n\x1b[2J\n\n"), "control characters"),
        (lambda n: n.split("\n\n")[0] + "\n\n— bad\n", "malformed signature line"),
    ],
)
def test_altered_notes_are_rejected_with_the_reason(edit: object, message: str) -> None:
    note = sign_checkpoint_note(ORIGIN, 1234, ROOT, KEY)
    vkey = auditverify.parse_verifier_key(verifier_key(ORIGIN, KEY))
    with pytest.raises(ValueError, match=message):
        auditverify.open_checkpoint(edit(note), [vkey])  # type: ignore[operator]


def test_a_note_signed_by_another_key_is_not_trusted() -> None:
    note = sign_checkpoint_note(ORIGIN, 3, ROOT, Ed25519PrivateKey.generate())
    with pytest.raises(ValueError, match="no valid signature"):
        auditverify.open_checkpoint(note, [auditverify.parse_verifier_key(verifier_key(ORIGIN, KEY))])
    with pytest.raises(ValueError, match="no signature by the configured key"):
        open_checkpoint_note(note, origin=ORIGIN, key=KEY)


def test_keys_load_from_base64_or_pem_and_bad_keys_say_how_to_make_one() -> None:
    generated = generate_signing_key()
    assert len(base64.b64decode(generated)) == 32
    pem = KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    assert verifier_key(ORIGIN, load_signing_key(pem)) == verifier_key(ORIGIN, KEY)
    for bad in (None, "", "not base64!", base64.b64encode(b"short").decode()):
        with pytest.raises(ConfigError, match="watchfloor audit keygen"):
            load_signing_key(bad)
    with pytest.raises(ConfigError, match="printable ASCII"):
        check_origin("my log+1")


def test_verifier_keys_are_checked_against_their_id() -> None:
    good = verifier_key(ORIGIN, KEY)
    name, key_id, key = good.split("+", 2)
    assert auditverify.parse_verifier_key(good).name == ORIGIN
    for bad in (f"{name}+00000000+{key}", f"{name}+{key_id}", "x+y+z", f"other+{key_id}+{key}"):
        with pytest.raises(ValueError, match="verifier key"):
            auditverify.parse_verifier_key(bad)
