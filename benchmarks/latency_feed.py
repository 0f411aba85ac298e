"""A paced loopback fake Jetstream for the alert-latency benchmark: frames on a schedule, each stamped.

Frames are the post creates of the recorded Jetstream sample (``src/watchfloor/demo/
bluesky_jetstream_sample.jsonl``, MIT/Apache-2.0) re-timed and given fresh ids: frame ``seq`` gets the
rkey ``3wfb`` + ``seq`` (so the benchmark can tell which frame a stored post came from), ``time_us``
and ``createdAt`` equal to the moment it is due, and a fresh text of Zipf-sampled English words (the
tweet vocabulary of ``benchmarks/corpus.py``); facets are dropped (their byte offsets would not fit
the new text). Every ``plant_every``-th frame also carries the two words of one rule, so a known
fraction of posts must raise an alert. Text is drawn from a random generator seeded by ``seq``, so a
frame sent again after a reconnect is byte for byte the same.

The schedule is a list of phases (name, frames per second, seconds). Frame ``seq`` is due at a fixed
time; the server sends every frame that is due, as soon as it can, and records when each left
(``send`` returned). It never drops a frame: if the client reads slower than the schedule, the
socket fills and the server falls behind (the gap between due and sent time is the backlog that
built up on the server's side, which the benchmark reports too). A reconnect with ``cursor``
resumes at the first frame due at or after it, as Jetstream does.

Run as ``python -m benchmarks.latency_feed SPEC.json``: it writes ``port`` (the bound port) beside the
spec, starts the schedule when the first client connects, stops sending on SIGUSR1 and writes
``sent.f64`` (send times, 8-byte floats per seq) and ``feed.json`` (start time, frames sent, resends),
then exits on SIGTERM.
"""

from __future__ import annotations

import bisect
import json
import os
import random
import signal
import sys
import threading
import time
from array import array
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "src" / "watchfloor" / "demo" / "bluesky_jetstream_sample.jsonl"
RKEY_PREFIX = "3wfb"
_MARK_TEXT, _MARK_AT, _MARK_RKEY, _MARK_US = "@@TEXT@@", "@@AT@@", "@@RKEY@@", 1_111_111_111_111_111


class Schedule:
    """When frame ``seq`` is due, for phases of constant rate starting at ``t0`` (seconds, wall clock)."""

    def __init__(self, phases: list[tuple[str, float, float]], t0: float = 0.0) -> None:
        self.phases = phases
        self.t0 = t0
        self.starts: list[float] = []  # offset (s) at which each phase starts
        self.firsts: list[int] = []  # first seq of each phase
        offset, first = 0.0, 0
        for _, rate, seconds in phases:
            self.starts.append(offset)
            self.firsts.append(first)
            offset += seconds
            first += round(rate * seconds)
        self.seconds = offset
        self.total = first

    def due(self, seq: int) -> float:
        phase = bisect.bisect_right(self.firsts, seq) - 1
        return self.t0 + self.starts[phase] + (seq - self.firsts[phase]) / self.phases[phase][1]

    def first_due_at_or_after(self, at: float) -> int:
        """The first seq due at or after wall time ``at`` (binary search; ``due`` is increasing)."""
        low, high = 0, self.total
        while low < high:
            middle = (low + high) // 2
            if self.due(middle) < at:
                low = middle + 1
            else:
                high = middle
        return low

    def phase_of(self, seq: int) -> str:
        return self.phases[bisect.bisect_right(self.firsts, seq) - 1][0]

    def window(self, name: str) -> tuple[float, float]:
        """Wall-clock start and end of the phase called ``name``."""
        index = [p[0] for p in self.phases].index(name)
        return self.t0 + self.starts[index], self.t0 + self.starts[index] + self.phases[index][2]


def seq_of(native_id: str) -> int | None:
    """The seq of a post this feed produced (``at://did/app.bsky.feed.post/3wfb000000123`` -> 123)."""
    rkey = native_id.rsplit("/", 1)[-1]
    return int(rkey[len(RKEY_PREFIX) :]) if rkey.startswith(RKEY_PREFIX) else None


def planted_rule(seq: int, plant_every: int, rules: int) -> int | None:
    """The index of the rule frame ``seq`` was written to match, or None (most frames)."""
    if seq % plant_every or not rules:
        return None
    return (seq // plant_every) % rules


class Frames:
    """Builds frame ``seq`` (see the module docstring) from pre-split templates: a few µs per frame."""

    def __init__(self, plants: list[str], plant_every: int, seed: int) -> None:
        from benchmarks.corpus import _vocabulary

        vocab, _ = _vocabulary()
        self.words, self.cumulative = vocab["en"]
        self.plants, self.plant_every, self.seed = plants, plant_every, seed
        self.templates: list[tuple[list[bytes], list[int]]] = []
        for line in SAMPLE.read_bytes().splitlines():
            event = orjson.loads(line)
            commit = event.get("commit") or {}
            if commit.get("collection") != "app.bsky.feed.post" or commit.get("operation") != "create":
                continue
            record = dict(commit["record"], text=_MARK_TEXT, createdAt=_MARK_AT)
            record.pop("facets", None)
            event = dict(event, time_us=_MARK_US, commit=dict(commit, rkey=_MARK_RKEY, record=record))
            self.templates.append(_split(orjson.dumps(event)))

    def planted_rule(self, seq: int) -> int | None:
        return planted_rule(seq, self.plant_every, len(self.plants))

    def text(self, seq: int) -> str:
        rng = random.Random(self.seed * 1_000_003 + seq)
        words = rng.choices(self.words, cum_weights=self.cumulative, k=rng.randint(6, 30))
        rule = self.planted_rule(seq)
        if rule is not None:
            words.insert(rng.randrange(len(words) + 1), self.plants[rule])
        return " ".join(words)

    def frame(self, seq: int, due: float) -> bytes:
        at = datetime.fromtimestamp(due, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        values = (
            orjson.dumps(self.text(seq)),
            at.encode(),
            f"{RKEY_PREFIX}{seq:09d}".encode(),
            b"%d" % (due * 1e6),
        )
        parts, order = self.templates[seq % len(self.templates)]
        out = [parts[0]]
        for index, value in enumerate(order):
            out.append(values[value])
            out.append(parts[index + 1])
        return b"".join(out)


def _split(template: bytes) -> tuple[list[bytes], list[int]]:
    """Cut a serialised template at its four markers; say which value goes into each cut."""
    marks = {b'"' + _MARK_TEXT.encode() + b'"': 0, _MARK_AT.encode(): 1, _MARK_RKEY.encode(): 2}
    marks[str(_MARK_US).encode()] = 3
    found = sorted((template.index(mark), mark, value) for mark, value in marks.items())
    parts, order, position = [], [], 0
    for index, mark, value in found:
        parts.append(template[position:index])
        order.append(value)
        position = index + len(mark)
    parts.append(template[position:])
    return parts, order


class Feed:
    """The server: one client at a time, frames sent on schedule, send times recorded."""

    def __init__(self, spec: dict[str, Any], folder: Path) -> None:
        self.folder = folder
        self.schedule = Schedule([(str(n), float(r), float(d)) for n, r, d in spec["phases"]])
        self.frames = Frames(spec["plants"], spec["plant_every"], spec["seed"])
        self.sent = array("d", bytes(8 * self.schedule.total))
        self.high = 0  # frames [0, high) were sent at least once
        self.resent = 0
        self.stop = threading.Event()
        self.started = threading.Lock()
        self.running = False
        self.idle = threading.Event()  # set when no send loop is running
        self.idle.set()

    def handler(self, ws: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        with self.started:
            if not self.running:
                self.schedule.t0 = time.time() + 0.2
                self.running = True
                (self.folder / "t0").write_text(repr(self.schedule.t0))
        query = parse_qs(urlsplit(ws.request.path).query)
        seq = 0
        if "cursor" in query:
            seq = self.schedule.first_due_at_or_after(int(query["cursor"][0]) / 1e6)
        total, due, frame, sent = self.schedule.total, self.schedule.due, self.frames.frame, self.sent
        self.idle.clear()
        try:
            while seq < total and not self.stop.is_set():
                at = due(seq)
                now = time.time()
                if at > now:
                    time.sleep(min(at - now, 0.002))
                    continue
                ws.send(frame(seq, at), text=True)
                if seq < self.high:
                    self.resent += 1
                else:
                    sent[seq] = time.time()
                    self.high = seq + 1
                seq += 1
            self.idle.set()
            for _ in ws:  # hold the stream open, as a live stream with nothing new does
                pass
        except ConnectionClosed:
            return
        finally:
            self.idle.set()

    def finish(self) -> None:
        self.stop.set()
        self.idle.wait(timeout=5)
        with (self.folder / "sent.f64").open("wb") as out:
            self.sent[: self.high].tofile(out)
        meta = {"t0": self.schedule.t0, "sent": self.high, "resent": self.resent}
        (self.folder / "feed.json").write_text(json.dumps(meta))


def main() -> None:
    from websockets.sync.server import serve

    spec_path = Path(sys.argv[1])
    folder = spec_path.parent
    feed = Feed(json.loads(spec_path.read_text()), folder)
    # No keepalive pings from the server: while the client is busy the socket is full of frames and a
    # ping's answer would queue behind them (Jetstream's own behaviour towards slow readers differs).
    server = serve(feed.handler, "127.0.0.1", 0, compression=None, ping_interval=None, max_queue=None)
    (folder / "port").write_text(str(server.socket.getsockname()[1]))
    finished = threading.Event()

    def _usr1(signum: int, frame: FrameType | None) -> None:
        feed.finish()
        finished.set()

    def _term(signum: int, frame: FrameType | None) -> None:
        if not finished.is_set():
            feed.finish()
        os._exit(0)  # server.shutdown() from this thread would wait for itself

    signal.signal(signal.SIGUSR1, _usr1)
    signal.signal(signal.SIGTERM, _term)
    server.serve_forever()


if __name__ == "__main__":
    main()
