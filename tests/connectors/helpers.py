"""What the importer tests share: reading fixtures through the real file readers, and fuzzing the mappers.

Every importer test reads captured payloads the way ``watchfloor import`` does (detection from a
sample, then :func:`~watchfloor.connectors.files.iter_file`), and every mapper is fuzzed with the same
kinds of arbitrary or mutated JSON, so those pieces live here once.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
from hypothesis import strategies as st

from watchfloor.connectors.base import FileFormat, MapOptions, Mapper
from watchfloor.connectors.files import iter_file, read_sample
from watchfloor.connectors.registry import detect_format, format_named
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Envelope, Location, Post, Quarantined

FIXTURE_ROOT = Path(__file__).parent.parent / "fixtures"

Items = list[Envelope | Quarantined]


# --- reading fixtures ------------------------------------------------------------------------------


def import_file(path: Path, fmt: str | FileFormat, options: MapOptions | None = None) -> Items:
    """Every envelope and quarantine entry of ``path`` read as ``fmt`` (a format or its name), in order."""
    file_format = format_named(fmt) if isinstance(fmt, str) else fmt
    return list(iter_file(path, file_format, options or MapOptions()))


def import_posts(
    path: Path, fmt: str | FileFormat, options: MapOptions | None = None
) -> tuple[list[Post], list[Quarantined]]:
    """The posts and the quarantine entries of ``path``, asserting that no envelope lacks a post.

    For formats where every good record is a post (CSV rows, Zeeschuimer items): a skip or a deletion
    there would be a bug.
    """
    posts: list[Post] = []
    quarantined: list[Quarantined] = []
    for result in import_file(path, fmt, options):
        if isinstance(result, Envelope):
            assert result.post is not None
            posts.append(result.post)
        else:
            quarantined.append(result)
    return posts, quarantined


def posts_by_id(items: Items) -> dict[str, Post]:
    """The posts among ``items`` keyed by native id (a later duplicate wins, as in the store)."""
    return {i.post.native_id: i.post for i in items if isinstance(i, Envelope) and i.post}


# --- detection ----------------------------------------------------------------------------------------


def detected(path: Path) -> str:
    """The name of the format detection picks for ``path``."""
    return detect_format(read_sample(path)).name


def assert_all_detected(paths: Iterable[Path], expected: str) -> None:
    """Assert that there is at least one path and that each is detected as ``expected``."""
    checked = list(paths)
    assert checked, f"no fixtures to detect as {expected}"
    for path in checked:
        assert detected(path) == expected, path.name


def fixture_files(*platforms: str, pattern: str = "*.json*") -> list[Path]:
    """The captured JSON fixtures of other ``platforms`` (asserted non-empty), for sniffers to refuse."""
    paths = [path for platform in platforms for path in sorted((FIXTURE_ROOT / platform).glob(pattern))]
    assert paths, f"no {pattern} fixtures for {platforms}"
    return paths


def assert_sniffers_reject(tmp_path: Path, samples: dict[str, bytes], formats: Iterable[str]) -> None:
    """Write each sample to a file and assert that every sniffer in ``formats`` scores it 0."""
    names = tuple(formats)
    for name, content in samples.items():
        path = tmp_path / name
        path.write_bytes(content)
        sample = read_sample(path)
        for fmt in names:
            assert format_named(fmt).sniff(sample) == 0, (name, fmt)


# --- fuzzing ------------------------------------------------------------------------------------------


def arbitrary_json(*, text: int, items: int, keys: int, leaves: int) -> st.SearchStrategy[Any]:
    """Any JSON value: strings up to ``text`` long, arrays and objects of up to ``items`` members."""
    return st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=text),
        lambda inner: (
            st.lists(inner, max_size=items) | st.dictionaries(st.text(max_size=keys), inner, max_size=items)
        ),
        max_leaves=leaves,
    )


# Small values, for replacing parts of real payloads; larger ones, for building whole records.
SMALL_JSON = arbitrary_json(text=12, items=3, keys=8, leaves=12)
JSON = arbitrary_json(text=8, items=4, keys=6, leaves=20)


def json_lines(*paths: Path) -> list[Any]:
    """The JSON values of every line of ``paths`` (.gz decompressed) that parses, as mutation bases."""
    values: list[Any] = []
    for path in paths:
        data = path.read_bytes()
        for line in (gzip.decompress(data) if path.name.endswith(".gz") else data).splitlines():
            try:
                values.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                continue
    return values


def json_paths(value: object, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path (keys and indexes) into ``value``, the empty path (the value itself) first."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += json_paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += json_paths(child, (*prefix, index))
    return found


def replace_at(value: Any, path: tuple[str | int, ...], new: object) -> Any:
    """A copy of ``value`` with the part at ``path`` replaced by ``new`` (the original is unchanged)."""
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = replace_at(copy[path[0]], path[1:], new)  # type: ignore[index]
    return copy


@st.composite
def mutated(draw: st.DrawFn, bases: list[Any]) -> object:
    """A real payload from ``bases`` with one to three parts replaced by arbitrary small JSON.

    Starting from real payloads reaches the deep branches of a mapper that random JSON never would.
    """
    value: object = draw(st.sampled_from(bases))
    for _ in range(draw(st.integers(1, 3))):
        value = replace_at(value, draw(st.sampled_from(json_paths(value))), draw(SMALL_JSON))
    return value


def assert_only_bad_record(mappers: Iterable[Mapper], value: object, location: Location) -> None:
    """Assert each mapper either raises BadRecord on ``value`` or returns only envelopes and quarantines."""
    raw = json.dumps(value).encode()  # stdlib: also writes integers beyond 64 bits
    for mapper in mappers:
        try:
            result = mapper(raw, location, MapOptions())
        except BadRecord:
            continue
        assert all(isinstance(r, Envelope | Quarantined) for r in result)
