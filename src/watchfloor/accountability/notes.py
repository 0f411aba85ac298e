"""Signed checkpoints in the C2SP formats: tlog-checkpoint note text, signed-note Ed25519 signature lines.

A checkpoint commits the log to (size, root). Its text is three lines — origin, decimal tree size,
base64 root — and a signature line ``— <origin> base64(key id || Ed25519 signature of the text)``
follows a blank line. Witnesses add their own lines; verifiers ignore keys they do not know.

The signing key comes from ``Settings.audit_signing_key``: the standard base64 of the raw 32-byte
Ed25519 private key (what ``watchfloor audit keygen`` prints; one line, so it fits an environment
variable), or a PKCS#8 PEM (what ``openssl genpkey -algorithm ed25519`` writes). Auditors receive
the *verifier key* ``<origin>+<key id hex>+base64(0x01 || public key)``, the format Go's
``golang.org/x/mod/sumdb/note`` and the transparency-dev witnesses use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from watchfloor.domain.errors import ConfigError

_ED25519 = b"\x01"  # signed-note signature type for Ed25519
_ORIGIN = re.compile(r"[!-*,-~]{1,200}")  # printable ASCII, no space, no '+'
_SIGNATURE_LINE = re.compile(r"— (\S+) ([A-Za-z0-9+/=]+)\n")
HOW_TO_GET_A_KEY = (
    "Create one with `watchfloor audit keygen` and set WATCHFLOOR_AUDIT_SIGNING_KEY to the private key "
    "it prints (keep it secret; give the verifier key to your auditors)."
)


class CheckpointHead(NamedTuple):
    """What a checkpoint commits to."""

    origin: str
    size: int
    root: bytes


def check_origin(origin: str) -> str:
    """``origin`` if it can name a log and its key (printable ASCII, no spaces, no '+'), else ConfigError."""
    if not _ORIGIN.fullmatch(origin):
        raise ConfigError(
            f"audit origin {origin!r} cannot name a log: use printable ASCII without spaces or '+', "
            "e.g. floor.example.org/audit (WATCHFLOOR_AUDIT_ORIGIN)"
        )
    return origin


def load_signing_key(text: str | None) -> Ed25519PrivateKey:
    """The Ed25519 key in ``text`` (base64 of the raw 32 bytes, or PKCS#8 PEM); ConfigError if unusable."""
    if not text:
        raise ConfigError(f"no audit signing key is configured. {HOW_TO_GET_A_KEY}")
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"the audit signing key is not a readable PEM private key ({exc})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError("the audit signing key must be an Ed25519 key")
        return key
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ConfigError(
            "the audit signing key must be the base64 of a raw 32-byte Ed25519 private key "
            f"(or a PKCS#8 PEM). {HOW_TO_GET_A_KEY}"
        )
    return Ed25519PrivateKey.from_private_bytes(raw)


def generate_signing_key() -> str:
    """A new Ed25519 private key, as base64 of its raw 32 bytes (the audit_signing_key setting)."""
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode("ascii")


def _public_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(name: str, key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The signed-note key id: SHA-256(name || 0x0A || 0x01 || public key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + _ED25519 + _public_bytes(key)).digest()[:4]


def verifier_key(name: str, key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """``<name>+<key id hex>+base64(0x01 || public key)``: what an auditor needs to check signatures."""
    encoded = base64.b64encode(_ED25519 + _public_bytes(key)).decode("ascii")
    return f"{name}+{key_id(name, key).hex()}+{encoded}"


def checkpoint_text(origin: str, size: int, root: bytes) -> str:
    """The note text of a checkpoint: origin, size, base64 root, each ending in a newline."""
    if size < 0 or len(root) != 32:
        raise ValueError("a checkpoint needs a size >= 0 and a 32-byte root")
    return f"{check_origin(origin)}\n{size}\n{base64.b64encode(root).decode('ascii')}\n"


def sign_checkpoint_note(origin: str, size: int, root: bytes, key: Ed25519PrivateKey) -> str:
    """The signed checkpoint note for (size, root), signed under the origin as key name."""
    text = checkpoint_text(origin, size, root)
    signature = key.sign(text.encode("utf-8"))
    line = base64.b64encode(key_id(origin, key) + signature).decode("ascii")
    return f"{text}\n— {origin} {line}\n"


def open_checkpoint_note(note: str, *, origin: str, key: Ed25519PrivateKey) -> CheckpointHead:
    """The head of a checkpoint this log signed with ``key``; ValueError if it is not exactly that.

    The writer uses this on its own checkpoints (the one in the database and the signer's copy);
    auditors use :mod:`watchfloor.auditverify`, which shares none of this code.
    """
    text, sep, signatures = note.rpartition("\n\n")
    if not sep:
        raise ValueError("not a signed note: no blank line before the signatures")
    text += "\n"
    want_id = key_id(origin, key)
    public = key.public_key()
    verified = False
    for name, encoded in _SIGNATURE_LINE.findall(signatures):
        blob = base64.b64decode(encoded)
        if name != origin or blob[:4] != want_id:
            continue  # someone else's signature (a witness): not ours to judge
        try:
            public.verify(blob[4:], text.encode("utf-8"))
        except InvalidSignature:
            raise ValueError("the checkpoint's signature does not verify with the configured key") from None
        verified = True
    if not verified:
        raise ValueError("the checkpoint carries no signature by the configured key")
    lines = text.split("\n")
    if len(lines) < 4 or lines[0] != origin or not lines[1].isdigit():
        raise ValueError(f"not a checkpoint of {origin}")
    root = base64.b64decode(lines[2], validate=True)
    if len(root) != 32 or str(int(lines[1])) != lines[1]:
        raise ValueError("malformed checkpoint size or root")
    return CheckpointHead(origin, int(lines[1]), root)
