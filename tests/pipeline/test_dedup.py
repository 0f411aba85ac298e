"""Exact and near-duplicate keys: what decides whether two posts land in one cluster."""

from __future__ import annotations

import random
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from watchfloor.pipeline import dedup
from watchfloor.pipeline.dedup import content_hash, dedup_keys, joined_tokens
from watchfloor.query.tokens import tokenize

BASE = "Officials confirm the north bridge will stay closed until Friday while engineers inspect storm damage"


def test_case_punctuation_spacing_and_accents_are_exact_duplicates() -> None:
    variants = [
        BASE,
        BASE.upper(),
        "  " + BASE.replace(" ", "   ") + "!!!",
        BASE.replace("closed", "closed,").replace("Friday", "Friday...") + " :)",
        BASE.replace("Officials", "Officiáls"),
    ]
    hashes = {k.content_hash for k in dedup_keys(variants)}
    assert len(hashes) == 1
    assert len(next(iter(hashes))) == 16


def test_different_words_are_not_exact_duplicates() -> None:
    a, b = dedup_keys([BASE, BASE.replace("Friday", "Monday")])
    assert a.content_hash != b.content_hash


def test_no_tokens_means_no_keys() -> None:
    for text in (None, "", "!!! ... 😂🔥"):
        assert dedup_keys([text]) == [dedup.DedupKeys(b"", ())]


def test_short_posts_get_no_band_keys() -> None:
    [keys] = dedup_keys(["vote yes today"])
    assert keys.content_hash
    assert keys.band_keys == ()


def test_band_keys_shape() -> None:
    [keys] = dedup_keys([BASE])
    assert len(keys.band_keys) == dedup.BANDS
    assert len(set(keys.band_keys)) == dedup.BANDS
    assert all(0 <= k < 2**63 for k in keys.band_keys)


def test_content_hash_matches_its_definition() -> None:
    [keys] = dedup_keys([BASE])
    assert keys.content_hash == content_hash(tokenize(BASE))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_ascii_fast_path_equals_the_shared_tokeniser(text: str) -> None:
    assert joined_tokens(text) == (" ".join(tokenize(text)).encode(), len(tokenize(text)))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_text_tokenises_as_the_shared_tokeniser(text: str) -> None:
    assert joined_tokens(text)[0] == " ".join(tokenize(text)).encode()


def test_batching_does_not_change_keys() -> None:
    texts = [f"{BASE} number {i} with extra words here" for i in range(50)]
    together = dedup_keys(texts)
    assert together == [k for t in texts for k in dedup_keys([t])]


def test_keys_are_pinned_to_the_version() -> None:
    # Stored keys must keep matching new ones. If this fails, a change altered every key: bump
    # dedup.VERSION, tell whoever runs the store to rebuild band keys, then update these values.
    [keys] = dedup_keys([BASE])
    assert dedup.VERSION == "1"
    assert keys.content_hash.hex() == "458a701e48d9e59ef7f83579b1a1b5b8"
    assert keys.band_keys[:3] == (4668859913479266595, 1202522003195037890, 8731935434019769650)


def test_keys_are_stable_across_processes() -> None:
    # hash() is salted per process; the keys must not be. Compute in a child with another hash seed.
    code = f"from watchfloor.pipeline.dedup import dedup_keys; print(dedup_keys([{BASE!r}])[0].band_keys)"
    child = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PYTHONPATH": ":".join(sys.path)},
    )
    assert child.stdout.strip() == str(dedup_keys([BASE])[0].band_keys)


_WORDS = [
    *("storm", "bridge", "river", "council", "police", "market", "school", "water", "road", "power"),
    *("fire", "train", "city", "people", "night", "morning", "report", "video", "photo", "crowd"),
    *("street", "north", "south", "east", "west", "closed", "open", "flood", "warning", "rescue"),
    *("team", "hospital", "election", "vote", "office", "mayor", "minister", "price", "fuel", "bread"),
    *("queue", "border", "airport", "flight"),
]


def _near_copy(words: list[str], rng: random.Random) -> list[str]:
    words = list(words)
    at = rng.randrange(len(words))
    edit = rng.randrange(3)
    if edit == 0:
        words.insert(at, rng.choice(_WORDS))
    elif edit == 1:
        del words[at]
    else:
        words[at] = rng.choice([w for w in _WORDS if w != words[at]])
    return words


def test_near_duplicates_share_a_band_key_and_unrelated_posts_do_not() -> None:
    rng = random.Random(7)
    originals = [[rng.choice(_WORDS) for _ in range(rng.randint(15, 25))] for _ in range(200)]
    copies = [_near_copy(words, rng) for words in originals]
    keys = dedup_keys([" ".join(w) for w in originals + copies])
    shared = [bool(set(keys[i].band_keys) & set(keys[i + 200].band_keys)) for i in range(200)]
    assert sum(shared) >= 190  # one word changed in 15-25: Jaccard ≥ ~0.7, found ≥ 95% of the time
    unrelated = sum(
        bool(set(keys[i].band_keys) & set(keys[j].band_keys)) for i in range(200) for j in range(i + 1, 200)
    )
    assert unrelated <= 2  # 19,900 unrelated pairs over a 48-word vocabulary


def test_links_and_addressees_do_not_make_posts_near_duplicates() -> None:
    a = "@newsdesk @cityhall https://example.com/live/updates?id=1 storm closes the north bridge tonight"
    b = "@newsdesk @cityhall https://example.com/live/updates?id=2 market prices rise again this week"
    ka, kb = dedup_keys([a, b])
    assert not set(ka.band_keys) & set(kb.band_keys)
    # ... while the same message with a different link and addressee is one.
    c, d = dedup_keys([f"@alice {BASE} https://t.co/aaa", f"RT @bob: {BASE} https://t.co/bbb"])
    assert set(c.band_keys) & set(d.band_keys)
