"""Passwords and second factors: the password policy, argon2id hashing, and TOTP codes.

Pure helpers used by :mod:`watchfloor.services.auth` and :mod:`watchfloor.services.users`; nothing here
touches the store. A password is used exactly as typed (ASVS 6.2.8): no trimming, case folding,
normalisation or truncation, so "Correct horse " and "correct horse" are different passwords. It must
be 12 to 1024 characters (ASVS 6.2.1 asks for at least 8 and recommends 15; 12 is the compromise for
people typing it at the start of every shift; 1024 bounds the hashing work an attacker can ask for),
must not be only whitespace, and must not be one of a few thousand obvious passwords generated below
(ASVS 6.2.4 asks for a check against the 3,000 most common; this list is generated, not a breach
corpus, because nothing may be fetched at run time: an honest limit, see docs/accounts-and-sign-in.md).
"""

from __future__ import annotations

import itertools
import unicodedata
from functools import lru_cache

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pyotp.exceptions import OTPVerificationError

from watchfloor.config import Settings
from watchfloor.domain.errors import InputError

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
TOTP_ISSUER = "watchfloor"
_INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})

# fmt: off
_BASES = (
    "password", "passw0rd", "p@ssword", "p@ssw0rd", "pass", "qwerty", "qwertz", "azerty", "qwertyuiop",
    "asdfghjkl", "zxcvbnm", "letmein", "welcome", "admin", "administrator", "root", "iloveyou",
    "monkey", "dragon", "football", "baseball", "soccer", "hockey", "sunshine", "princess", "shadow",
    "superman", "batman", "master", "trustno1", "changeme", "default", "secret", "login", "access",
    "starwars", "whatever", "freedom", "computer", "internet", "michael", "jennifer", "jordan",
    "hunter", "charlie", "summer", "winter", "spring", "autumn", "flower", "lovely", "hello", "abc123",
    "abcdef", "abcdefgh", "abcdefghijkl", "watchfloor", "analyst", "supervisor", "reviewer", "auditor",
    "1q2w3e4r", "1qaz2wsx", "qazwsx", "zaq12wsx", "correcthorsebatterystaple", "ninja", "mustang",
    "killer", "pokemon", "liverpool", "chelsea", "arsenal", "cookie", "cheese", "butterfly", "purple",
    "orange", "banana", "chocolate", "matrix", "security",
)
# fmt: on
_SUFFIXES = (
    "",
    "1",
    "12",
    "123",
    "1234",
    "12345",
    "123456",
    "1234567",
    "12345678",
    "123456789",
    "!",
    "1!",
    "12!",
    "123!",
    "1234!",
    "01",
    "007",
    "69",
    "@123",
    "#1",
    "!!",
    *(str(year) for year in range(1990, 2031)),
    *(f"{year}!" for year in range(2015, 2031)),
)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The generated list of obvious passwords, case-folded (a few thousand entries)."""
    found: set[str] = set()
    for base, suffix in itertools.product(_BASES, _SUFFIXES):
        found.add(base + suffix)
        found.add(base + base + suffix)
        found.add(suffix + base)
    for digits in ("1234567890", "0987654321", "0123456789"):
        for n in range(6, 11):
            found.add(digits[:n] + digits[:n])
        found.add(digits + digits[:2])
    found.update(("123456789012", "1234567890123", "12345678901234", "123456123456", "qwertyuiopas"))
    found.update(("qwertyuiopasdfghjkl", "1q2w3e4r5t6y", "1qaz2wsx3edc", "abcdefghijklmnop"))
    return frozenset(found)


def check_new_password(password: str, *, user_name: str) -> None:
    """Raise :class:`InputError` saying what to change unless ``password`` may be set for ``user_name``."""
    if is_blank(password):
        raise InputError("a password cannot be empty or only spaces: choose 12 or more characters")
    if len(password) < MIN_PASSWORD:
        raise InputError(
            f"the password is {len(password)} characters; it needs at least {MIN_PASSWORD} "
            "(a few unrelated words make a long password that is easy to remember)"
        )
    if len(password) > MAX_PASSWORD:
        raise InputError(
            f"the password is {len(password):,} characters; at most {MAX_PASSWORD:,} are allowed"
        )
    folded = password.casefold()
    if folded in common_passwords() or len(set(folded)) <= 2 or _repeats_short_unit(folded):
        raise InputError("that password is one of the most common ones: choose something less obvious")
    if len(user_name) >= 3 and user_name.casefold() in folded:
        raise InputError("the password must not contain the account name: choose something else")


def _repeats_short_unit(text: str) -> bool:
    """``abcabcabcabc``: the whole text is a unit of at most 4 characters repeated."""
    return any(len(text) % n == 0 and text == text[:n] * (len(text) // n) for n in range(1, 5))


def is_blank(password: str) -> bool:
    """Whether ``password`` has nothing visible: empty, or only spaces, tabs, line breaks, no-break or
    zero-width spaces and other invisible format or control characters."""
    return all(ch.isspace() or unicodedata.category(ch) in _INVISIBLE for ch in password)


def usable_at_sign_in(password: str) -> bool:
    """Whether a password typed at sign-in is worth hashing: not empty, not only whitespace, not huge.

    Anything else is refused before any hashing. Empty and whitespace-only passwords never
    authenticate, whatever is stored (an LDAP-style "unauthenticated bind" can never happen here).
    """
    return not is_blank(password) and len(password) <= MAX_PASSWORD


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=4)


def hasher(settings: Settings) -> PasswordHasher:
    """The argon2id hasher for the configured cost (cached per cost)."""
    return _hasher(settings.password_hash_time_cost, settings.password_hash_memory_kib)


@lru_cache(maxsize=4)
def _dummy_hash(time_cost: int, memory_kib: int) -> str:
    # A hash of nothing anyone can type: verifying against it costs what a real check costs.
    return _hasher(time_cost, memory_kib).hash("\x00 no account \x00")


def hash_password(settings: Settings, password: str) -> str:
    """The argon2id PHC string for ``password`` (a fresh random salt each time)."""
    return hasher(settings).hash(password)


def verify_password(settings: Settings, stored: str | None, password: str) -> tuple[bool, bool]:
    """``(matches, needs_rehash)``; with no stored hash, the same work against a dummy hash, and False.

    Unknown users and users without a password therefore cost exactly what a wrong password costs
    (ASVS 6.3.8: no user enumeration by timing or by message).
    """
    ph = hasher(settings)
    target = stored if stored is not None else _dummy_hash(ph.time_cost, ph.memory_cost)
    try:
        ph.verify(target, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, False
    if stored is None:  # pragma: no cover - the dummy hash's password cannot be typed at sign-in
        return False, False
    return True, ph.check_needs_rehash(stored)


def new_totp_secret() -> str:
    """A fresh TOTP secret: 32 base32 characters (160 bits, RFC 4226's recommended length)."""
    return pyotp.random_base32()


def totp_uri(secret: str, *, user_name: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (usually as a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=user_name, issuer_name=TOTP_ISSUER)


def totp_step(secret: str, code: str | None, *, now_seconds: int) -> int | None:
    """The time step ``code`` belongs to (now, or one step either side), or None if it is not valid."""
    if code is None:
        return None
    digits = code.replace(" ", "")
    if len(digits) != 6 or not digits.isascii() or not digits.isdigit():
        return None
    try:
        return pyotp.TOTP(secret).verify_and_get_timecode(digits, for_time=now_seconds, valid_window=1)
    except (OTPVerificationError, ValueError):
        return None


def totp_code(secret: str, *, now_seconds: int) -> str:
    """The current code for ``secret`` (what an authenticator app shows; for tests and the demo)."""
    return pyotp.TOTP(secret).at(now_seconds)
