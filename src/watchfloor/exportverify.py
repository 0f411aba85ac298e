"""The offline export verifier: check a released export file against its manifest, with no database.

It imports nothing from watchfloor — only the standard library, and ``cryptography`` for Ed25519 — so a
recipient or auditor can read this one file, copy it, and run it anywhere::

    python exportverify.py flood.ndjson --public-key 'floor.example.org/audit+1a2b3c4d+AU...'

The manifest (``<file>.manifest.json``, format ``watchfloor-export-manifest/1``) names the SHA-256 of
the whole file and, for every item (post), where its exact bytes are and their SHA-256, plus the legal
basis, the author, the reviewer who approved it and the audit event of the release. This checks that
the file has the approved hash, that every item has its hash (and names the items that do not), and,
when the manifest is signed, that the signature over its canonical JSON (sorted keys, no whitespace,
UTF-8, without the ``signature`` field) is valid — made by ``--public-key`` if one is given, which
should be the floor's verifier key (``watchfloor audit public-key``), obtained some other way than the
manifest itself. Without a signature a manifest proves integrity of the file only against itself.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

MANIFEST_FORMAT = "watchfloor-export-manifest/1"
_MAX_PROBLEMS = 100


@dataclass
class Report:
    """What was checked: lines that passed, and problems (empty when the export verifies)."""

    passed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    more_problems: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems and not self.more_problems

    def problem(self, text: str) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(text)
        else:
            self.more_problems += 1


def canonical(manifest: dict[str, Any]) -> bytes:
    """The bytes a manifest's signature covers: everything but ``signature``, sorted keys, no spaces."""
    body = {k: v for k, v in manifest.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def parse_public_key(text: str) -> tuple[str, bytes]:
    """``(name, raw 32-byte key)`` of a verifier key ``<name>+<key id hex>+base64(0x01 || key)``."""
    parts = text.strip().split("+", 2)  # base64 may itself contain "+"
    if len(parts) != 3 or not parts[0] or len(parts[1]) != 8:
        raise ValueError("a verifier key looks like <name>+<8 hex digits>+<base64>")
    name, hex_id, encoded = parts
    try:
        blob = base64.b64decode(encoded, validate=True)
        want_id = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError):
        raise ValueError("the verifier key's id or key is not valid hex/base64") from None
    if len(blob) != 33 or blob[0] != 1:
        raise ValueError("the verifier key is not an Ed25519 key (type 0x01, 32 bytes)")
    if hashlib.sha256(name.encode("utf-8") + b"\n" + blob).digest()[:4] != want_id:
        raise ValueError("the verifier key's id does not match its name and key")
    return name, blob[1:]


def _describe(index: int, item: dict[str, Any]) -> str:
    platform, native = item.get("platform"), item.get("native_id")
    post = f"post {item.get('post_id')}" if item.get("post_id") is not None else "item"
    return f"item {index + 1} ({post}, {platform} {native})" if native else f"item {index + 1} ({post})"


def _check_items(content: bytes, items: Any, report: Report) -> None:
    if not isinstance(items, list):
        report.problem("the manifest has no list of items")
        return
    bad = 0
    for index, item in enumerate(items):
        try:
            offset, length, want = int(item["offset"]), int(item["length"]), str(item["sha256"])
        except (KeyError, TypeError, ValueError):
            report.problem(f"item {index + 1}: the manifest entry lacks offset, length or sha256")
            bad += 1
            continue
        if offset < 0 or length < 1 or offset + length > len(content):
            report.problem(f"{_describe(index, item)}: bytes {offset}-{offset + length} are not in the file")
            bad += 1
            continue
        got = hashlib.sha256(content[offset : offset + length]).hexdigest()
        if got != want.lower():
            report.problem(
                f"{_describe(index, item)} differs: its bytes {offset}-{offset + length} hash to {got}, "
                f"the manifest says {want}"
            )
            bad += 1
    if not bad:
        report.passed.append(f"all {len(items):,} items have the hashes the manifest lists")


def _check_signature(manifest: dict[str, Any], trusted: str | None, report: Report) -> None:
    signature = manifest.get("signature")
    if signature is None:
        if trusted is not None:
            report.problem("the manifest is not signed, but a public key was given to check it with")
        else:
            report.passed.append("the manifest is not signed: it vouches for the file only against itself")
        return
    try:
        name, raw = parse_public_key(str(manifest.get("public_key", "")))
    except ValueError as exc:
        report.problem(f"the manifest's public key cannot be read: {exc}")
        return
    if name != manifest.get("key_name"):
        report.problem(
            f"the manifest's key is named {name!r}, but key_name says {manifest.get('key_name')!r}"
        )
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(
            base64.b64decode(str(signature), validate=True), canonical(manifest)
        )
    except (InvalidSignature, binascii.Error, ValueError):
        report.problem("the manifest's signature is not valid: the manifest was changed after it was signed")
        return
    if trusted is None:
        report.passed.append(
            f"the signature is valid for the key in the manifest ({name}); pass --public-key with your "
            "floor's verifier key to check it is that key"
        )
        return
    try:
        trusted_name, trusted_raw = parse_public_key(trusted)
    except ValueError as exc:
        report.problem(f"--public-key: {exc}")
        return
    if (trusted_name, trusted_raw) != (name, raw):
        report.problem(f"the manifest was signed by {manifest.get('public_key')}, not by the key given")
    else:
        report.passed.append(f"the manifest is signed by the given key ({trusted_name})")


def verify_export(content: bytes, manifest: Any, *, public_key: str | None = None) -> Report:
    """Check ``content`` (the export file's bytes) against ``manifest`` (the parsed JSON)."""
    report = Report()
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        report.problem(f"this is not a watchfloor export manifest (format {MANIFEST_FORMAT})")
        return report
    want = str(manifest.get("content_sha256", ""))
    got = hashlib.sha256(content).hexdigest()
    if got == want.lower():
        report.passed.append(f"the file has the approved SHA-256 {got}")
    else:
        report.problem(f"the file's SHA-256 is {got}, but the approved content's is {want}")
    if "bytes" in manifest and manifest["bytes"] != len(content):
        report.problem(f"the file has {len(content):,} bytes, the approved content had {manifest['bytes']:,}")
    _check_items(content, manifest.get("items"), report)
    _check_signature(manifest, public_key, report)
    return report


def summary(manifest: dict[str, Any]) -> str:
    """One line saying what the export is: id, title, recipient, basis, author and approver."""
    basis = manifest.get("legal_basis") or {}
    return (
        f"export {manifest.get('dissemination_id')} {manifest.get('title')!r} "
        f"for {manifest.get('recipient')}, "
        f"under legal basis {basis.get('id')} ({basis.get('title')}); written by {manifest.get('author')}, "
        f"approved by {manifest.get('approver')} at {manifest.get('approved_at')}, "
        f"released at {manifest.get('released_at')} (audit event {manifest.get('audit_seq')})"
    )


def load(file: Path, manifest_file: Path | None = None) -> tuple[bytes, Any]:
    """The file's bytes and its parsed manifest (default: ``<file>.manifest.json``); OSError/ValueError."""
    manifest_file = manifest_file or file.with_name(file.name + ".manifest.json")
    content = file.read_bytes()
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{manifest_file} is not valid JSON ({exc})") from None
    return content, manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a watchfloor export file against its manifest.")
    parser.add_argument("file", type=Path, help="the export file")
    parser.add_argument("--manifest", type=Path, help="the manifest (default: FILE.manifest.json)")
    parser.add_argument("--public-key", help="the floor's verifier key the manifest must be signed with")
    args = parser.parse_args(argv)
    try:
        content, manifest = load(args.file, args.manifest)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = verify_export(content, manifest, public_key=args.public_key)
    print("".join(f"ok: {line}\n" for line in report.passed), end="")
    print("".join(f"FAILED: {line}\n" for line in report.problems), end="")
    if report.more_problems:
        print(f"FAILED: ... and {report.more_problems:,} more problems")
    if isinstance(manifest, dict):
        print(summary(manifest))
    print("verified" if report.ok else "NOT VERIFIED")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
