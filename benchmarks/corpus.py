"""A deterministic synthetic post corpus with planted exact and near duplicates as ground truth.

The pipeline benchmarks need posts that look like a real stream in the ways that matter for cost and
for dedup quality: a realistic language mix, Zipf-distributed words, selectors at realistic rates,
and duplicates whose true partners are known. The mix follows performance.md §2: 66% English, 10%
Spanish, 8% Portuguese, 6% French, 4% Arabic, 3.5% German, 2.5% Italian; 25% of posts mention someone,
30% carry hashtags, 20% URLs (some with tracking parameters), 1% e-mail addresses, 1% phone numbers,
12% an emoji; 3% are exact reposts (same words, different id, case or punctuation changed) and 5%
near-duplicates (one word added, removed or replaced, 30% of them also given an "RT @x: " prefix).

Vocabulary: when ``../shared/data`` is present, each language's words and their frequencies come
from the real tweets in ``umsab_multilingual_sentiment`` (so words are sampled Zipf-like, as people
write them); otherwise small built-in lists are used and the corpus says so in ``vocabulary``.

Near-duplicates are planted only from originals of at least ``NEAR_MIN_WORDS`` words: a one-word
change to a three-word post is a different message, and the pipeline deliberately gives such short
posts no near-duplicate keys. Every generated text is a bag of frequent words — easier for language
identification than real posts; treat accuracy on it as a consistency check.

``plant_near_duplicates(texts)`` plants the same near-duplicate edits into real posts, for a check
on real text (real vocabulary, lengths and topical overlap between unrelated posts).

Usage: ``generate_corpus(100_000).posts`` or ``generate_posts(n, seed)``.
"""

from __future__ import annotations

import gzip
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import phonenumbers

from watchfloor.domain.post import Post

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "umsab_multilingual_sentiment"
LANGUAGE_MIX = {"en": 66.0, "es": 10.0, "pt": 8.0, "fr": 6.0, "ar": 4.0, "de": 3.5, "it": 2.5}
_FOLDERS = {
    "en": "english", "es": "spanish", "pt": "portuguese", "fr": "french",
    "ar": "arabic", "de": "german", "it": "italian",
}  # fmt: skip
NEAR_MIN_WORDS = 6
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")

_BUILTIN = {  # Zipf-ordered common words, used when the real-tweet vocabulary is absent
    "en": """
    the of and to in is you that it he was for on are as with his they at be this have from or one
    had by word but not what all were we when your can said there use an each which she do how their
    if will up other about out many then them these so some her would make like him into time has
    look two more write go see number no way could people my than first water been call who oil its
    now find long down day did get come made may part news today vote police city fire storm road
    market school government
    """,
    "es": """
    de la que el en y a los se del las un por con no una su para es al lo como más pero sus le ya o
    este sí porque esta entre cuando muy sin sobre también me hasta hay donde quien desde todo nos
    durante todos uno les ni contra otros ese eso ante ellos e esto mí antes algunos qué unos yo
    otro otras otra él tanto esa estos mucho quienes nada muchos cual poco ella estar estas algunas
    algo nosotros ciudad calle
    """,
    "pt": """
    de a o que e do da em um para é com não uma os no se na por mais as dos como mas foi ao ele das
    tem à seu sua ou ser quando muito há nos já está eu também só pelo pela até isso ela entre era
    depois sem mesmo aos ter seus quem nas me esse eles estão você tinha foram essa num nem suas meu
    às minha cidade
    """,
    "fr": """
    de la le et les des en un du une que est pour qui dans a par plus pas au sur ne se ce il sont la
    ou avec son aux d'un cette d'une ont ses mais comme on tout nous sa été fait était aussi leur
    bien peut ces y deux ans encore même après fait sans elle très autres temps monde ville rue
    gouvernement
    """,
    "ar": """
    في من على إلى عن مع هذا هذه التي الذي كان ما لا أن قد كل بعد بين عند أو ثم حتى إذا لم لن هو هي
    نحن هم أنا أنت اليوم الناس الله مصر الحكومة المدينة الشارع الأخبار السوق المدرسة الطريق العالم
    """,
    "de": """
    der die und in den von zu das mit sich des auf für ist im dem nicht ein die eine als auch es an
    werden aus er hat dass sie nach wird bei einer um am sind noch wie einem über einen so zum war
    haben nur oder aber vor zur bis mehr durch man sein wurde sei heute stadt straße regierung
    """,
    "it": """
    di e il la che in a per un è del non con i le si da una sono al della come più ma anche dei nel
    alla ha lo se ci gli questo o mi ti io tu lui lei noi voi loro oggi città strada governo mercato
    """,
}
_EMOJI = ["😂", "🔥", "❤️", "🙏", "👍", "😡", "😢", "🇺🇸", "⚠️", "🎉"]
_DOMAINS = [
    "bbc.co.uk", "news.bbc.co.uk", "www.nytimes.com", "youtube.com", "youtu.be", "t.co", "bit.ly",
    "www.theguardian.com", "elpais.com", "g1.globo.com", "www.lemonde.fr", "spiegel.de", "aljazeera.net",
    "repubblica.it", "example.blogspot.com", "news.example.com.br", "www.gov.uk", "forums.news.bbc.co.uk",
]  # fmt: skip
_PHONE_REGIONS = ["GB", "US", "DE", "FR", "ES", "BR", "IT", "EG"]


@dataclass(frozen=True)
class Corpus:
    """Generated posts with the planted duplicate pairs (indexes into ``posts``, original first)."""

    posts: list[Post]
    exact_pairs: list[tuple[int, int]]
    near_pairs: list[tuple[int, int]]
    languages: list[str] = field(default_factory=list)  # the language each post was generated in
    vocabulary: str = "built-in"  # "umsab" when real tweet vocabulary was used


@cache
def _vocabulary() -> tuple[dict[str, tuple[list[str], list[int]]], str]:
    """Per language: words and cumulative frequencies (for ``random.choices``), and where they came from."""
    vocab: dict[str, tuple[list[str], list[int]]] = {}
    source = "umsab" if DATA.is_dir() else "built-in"
    for lang, folder in _FOLDERS.items():
        counts: Counter[str] = Counter()
        if source == "umsab":
            for split in ("train", "val"):
                with gzip.open(DATA / folder / f"{split}_text.txt.gz", "rt", encoding="utf-8") as handle:
                    for line in handle:
                        line = re.sub(r"(?:https?://|@|#)\S*", " ", line)
                        counts.update(
                            w.lower() for w in _WORD.findall(line) if w.lower() not in {"user", "http"}
                        )
        else:
            for rank, word in enumerate(_BUILTIN[lang].split()):
                counts[word] += 1000 // (rank + 1) + 1  # Zipf-like weights
        words = sorted(counts, key=lambda w: (-counts[w], w))
        total = 0
        cumulative = []
        for word in words:
            total += counts[word]
            cumulative.append(total)
        vocab[lang] = (words, cumulative)
    return vocab, source


def _phone(rng: random.Random) -> str:
    region = rng.choice(_PHONE_REGIONS)
    example = phonenumbers.example_number(region)
    assert example is not None
    for _ in range(5):
        national = str(example.national_number)
        candidate = phonenumbers.parse(f"+{example.country_code}{national[:-3]}{rng.randrange(1000):03d}")
        if phonenumbers.is_valid_number(candidate):
            example = candidate
            break
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _url(rng: random.Random, words: list[str]) -> str:
    domain = rng.choice(_DOMAINS)
    path = "/".join(rng.choice(words) for _ in range(rng.randint(1, 3)))
    url = f"https://{domain}/{path}"
    if rng.random() < 0.3:
        url += f"?utm_source={rng.choice(['twitter', 'fb', 'share'])}&id={rng.randrange(10**6)}"
    return url


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.vocab, self.source = _vocabulary()
        self.langs = list(LANGUAGE_MIX)
        self.lang_weights = list(LANGUAGE_MIX.values())
        self.handles = [f"user_{i}" if i % 3 else f"Acct{i}.bsky.social" for i in range(5000)]
        self.start = datetime(2026, 11, 1, tzinfo=UTC)

    def words(self, lang: str, count: int) -> list[str]:
        words, cumulative = self.vocab[lang]
        return self.rng.choices(words, cum_weights=cumulative, k=count)

    def original(self, lang: str) -> list[str]:
        """The word list of a new post, selectors included as words."""
        rng = self.rng
        count = rng.randint(1, 4) if rng.random() < 0.06 else rng.randint(5, 34)
        words = self.words(lang, count)
        words[0] = words[0].capitalize()
        extras: list[str] = []
        if rng.random() < 0.25:
            extras.append("@" + self.handles[min(int(rng.paretovariate(1.2)) - 1, len(self.handles) - 1)])
        if rng.random() < 0.30:
            extras.extend("#" + w.capitalize() for w in self.words(lang, rng.randint(1, 2)))
        if rng.random() < 0.20:
            extras.append(_url(rng, self.vocab["en"][0][:500]))
        if rng.random() < 0.01:
            extras.append(f"{self.words('en', 1)[0]}.{rng.randrange(100)}@example.org")
        if rng.random() < 0.01:
            extras.append(_phone(rng))
        for extra in extras:
            words.insert(rng.randrange(len(words) + 1), extra)
        if rng.random() < 0.12:
            words.append(rng.choice(_EMOJI))
        return words

    def text(self, words: list[str]) -> str:
        end = self.rng.choice([".", "!", "?", "", "", "..."])
        return " ".join(words) + end

    def repost_text(self, text: str) -> str:
        """The same words with case or punctuation changed: an exact duplicate after tokenising."""
        change = self.rng.randrange(4)
        if change == 0:
            return text.upper()
        if change == 1:
            return text.lower()
        if change == 2:
            return text.rstrip(".!?") + "!!!"
        return text.replace(" ", "  ", 1) + " :"

    def near_words(self, words: list[str], lang: str) -> list[str]:
        """One word added, removed or replaced; sometimes an "RT @x: " prefix as well."""
        rng = self.rng
        words = list(words)
        edit = rng.randrange(3)
        at = rng.randrange(len(words))
        new = self.words(lang, 1)[0]
        if edit == 0:
            words.insert(at, new)
        elif edit == 1:
            del words[at]
        else:
            while new.lower() == words[at].lower():
                new = self.words(lang, 1)[0] + "x"
            words[at] = new
        if rng.random() < 0.3:
            words = ["RT", f"@{rng.choice(self.handles)}:", *words]
        return words

    def post(self, index: int, text: str) -> Post:
        return Post(
            platform="synthetic",
            native_id=str(index),
            created_at=self.start + timedelta(seconds=index),
            source="benchmarks.corpus",
            source_version="1",
            author_handle=self.rng.choice(self.handles),
            text=text,
        )


def generate_corpus(n: int, seed: int = 42) -> Corpus:
    """Return ``n`` posts (deterministic for a seed) with the exact and near-duplicate pairs planted."""
    gen = _Generator(seed)
    rng = gen.rng
    posts: list[Post] = []
    languages: list[str] = []
    originals: list[tuple[int, list[str], str]] = []  # (index, words, lang) of posts eligible as bases
    exact: list[tuple[int, int]] = []
    near: list[tuple[int, int]] = []
    for i in range(n):
        roll = rng.random()
        if roll < 0.03 and originals:
            base, words, lang = rng.choice(originals)
            exact.append((base, i))
            text = gen.repost_text(posts[base].text or "")
        elif roll < 0.08 and originals:
            base, words, lang = rng.choice(originals)
            near.append((base, i))
            text = gen.text(gen.near_words(words, lang))
        else:
            lang = rng.choices(gen.langs, weights=gen.lang_weights)[0]
            words = gen.original(lang)
            text = gen.text(words)
            if len(words) >= NEAR_MIN_WORDS:
                originals.append((i, words, lang))
        posts.append(gen.post(i, text))
        languages.append(lang)
    return Corpus(posts=posts, exact_pairs=exact, near_pairs=near, languages=languages, vocabulary=gen.source)


def plant_near_duplicates(
    texts: list[str], seed: int = 42, rate: float = 0.05
) -> tuple[list[str], list[tuple[int, int]]]:
    """Return ``texts`` (real posts, in order) with near-duplicates inserted, and the planted pairs.

    The same edits as the synthetic corpus — one whitespace-separated word added, removed or
    replaced, 30% also given an "RT @x: " prefix — applied to real texts of at least
    ``NEAR_MIN_WORDS`` words, at ``rate`` of the stream; new words are drawn from the stream's own
    words (so by their frequency). Real posts repeat and paraphrase each other, so unplanted pairs
    are not all unrelated: judge them by similarity, not as errors.
    """
    rng = random.Random(seed)
    vocabulary = [w for t in texts[:50_000] for w in t.split()]
    out: list[str] = []
    originals: list[int] = []
    near: list[tuple[int, int]] = []
    for text in texts:
        if originals and rng.random() < rate:
            base = rng.choice(originals)
            words = out[base].split()
            at = rng.randrange(len(words))
            new = rng.choice(vocabulary)
            edit = rng.randrange(3)
            if edit == 0:
                words.insert(at, new)
            elif edit == 1:
                del words[at]
            else:
                words[at] = new
            if rng.random() < 0.3:
                words = ["RT", "@someone:", *words]
            near.append((base, len(out)))
            out.append(" ".join(words))
        if len(text.split()) >= NEAR_MIN_WORDS:
            originals.append(len(out))
        out.append(text)
    return out, near


def generate_posts(n: int, seed: int = 42) -> list[Post]:
    """Return the posts of ``generate_corpus(n, seed)``."""
    return generate_corpus(n, seed).posts
