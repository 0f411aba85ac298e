"""Posts, envelopes and prepared posts are invisible to the cyclic garbage collector, safely.

They are declared ``gc=False`` (domain/post.py): an import holds thousands per batch, and tracked
objects are walked on every older-generation collection. That is safe only while they cannot be in a
reference cycle, i.e. while they are frozen and hold no mutable containers: the second test fails if
one gains a list, dict or set field or an unfrozen struct, and the first if one of the import path's
objects is tracked again.
"""

from __future__ import annotations

import gc
from datetime import UTC, datetime

import msgspec
import msgspec.inspect as mi
import pytest

from tests.connectors.helpers import FIXTURE_ROOT, import_file
from watchfloor.domain import post as post_module
from watchfloor.domain.post import Envelope, Post
from watchfloor.pipeline import prepare_batch


def test_real_imported_posts_and_their_parts_are_not_tracked() -> None:
    items = import_file(FIXTURE_ROOT / "twitter" / "v1_constructed.jsonl", "twitter-v1")
    items += import_file(FIXTURE_ROOT / "twitter" / "v1_malformed.jsonl", "twitter-v1")
    posts = [i.post for i in items if isinstance(i, Envelope) and i.post is not None]
    assert posts and any(p.media for p in posts) and any(p.geo for p in posts)
    assert any(i.deletion for i in items if isinstance(i, Envelope))
    prepared = prepare_batch(posts, now=datetime(2026, 11, 30, tzinfo=UTC))
    parts: list[object] = [*items, *prepared, *(p.post for p in prepared)]
    for post in posts:
        parts += [*post.media, post.metrics, post.geo]
    for item in items:
        parts += [item.location, getattr(item, "deletion", None)]
    tracked = [type(part).__name__ for part in parts if part is not None and gc.is_tracked(part)]
    assert tracked == []
    assert all(isinstance(p.post, Post) for p in prepared)


_UNTRACKED = [
    value
    for value in vars(post_module).values()
    if isinstance(value, type)
    and issubclass(value, msgspec.Struct)
    and value.__module__ == post_module.__name__
]
_MUTABLE = (mi.ListType, mi.DictType, mi.SetType, mi.ByteArrayType, mi.AnyType)


def _mutable_parts(info: mi.Type, seen: set[type]) -> list[str]:
    if isinstance(info, _MUTABLE):
        return [type(info).__name__]
    if isinstance(info, mi.StructType):
        if info.cls in seen:
            return []
        seen.add(info.cls)
        own = [] if info.cls.__struct_config__.frozen else [f"{info.cls.__name__} is not frozen"]
        return own + [part for field in info.fields for part in _mutable_parts(field.type, seen)]
    if isinstance(info, mi.UnionType):
        return [part for option in info.types for part in _mutable_parts(option, seen)]
    if isinstance(info, mi.VarTupleType):
        return _mutable_parts(info.item_type, seen)
    if isinstance(info, mi.TupleType):
        return [part for item in info.item_types for part in _mutable_parts(item, seen)]
    return []


@pytest.mark.parametrize("struct", _UNTRACKED, ids=lambda struct: struct.__name__)
def test_untracked_structs_are_frozen_and_hold_nothing_mutable(struct: type[msgspec.Struct]) -> None:
    assert struct.__struct_config__.gc is False
    assert _mutable_parts(mi.type_info(struct), set()) == []
