"""How ``/pattern/`` terms are compiled and written, shared by the parser, evaluator and describer.

RE2 (google-re2) is used because a standing rule runs on every incoming post: its matching time is
linear in the text, whatever the pattern. The price is no look-around and no back-references.
"""

from __future__ import annotations

import functools
from typing import Any

import re2


@functools.lru_cache(maxsize=1024)
def compile_regex(pattern: str) -> Any:
    """Compile a query regex as every consumer must: RE2, case-insensitive unless it says ``(?-i)``.

    Raises ``re2.error`` for a pattern RE2 rejects. Errors are not logged to stderr (RE2's default).
    """
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = False
    return re2.compile(pattern, options)


def unescape_slashes(body: str) -> str:
    r"""Return the text between ``/ /`` with ``\/`` turned into ``/`` (other escapes kept): what RE2 sees."""
    out: list[str] = []
    i = 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            pair = body[i : i + 2]
            out.append("/" if pair == "\\/" else pair)
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def escape_slashes(pattern: str) -> str:
    r"""Return ``pattern`` with each unescaped ``/`` written ``\/``, ready to put between slashes."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
        else:
            out.append("\\/" if pattern[i] == "/" else pattern[i])
            i += 1
    return "".join(out)
