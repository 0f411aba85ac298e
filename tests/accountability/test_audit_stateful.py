"""A Hypothesis state machine over the real audit service: append, checkpoint, prove, verify.

Invariants after every step: every checkpoint signed so far is consistent with the newest one (a
consistency proof from the writer verifies with the independent verifier), and every event appended
so far is provable in the current tree against a root the verifier recomputed from the leaves.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.accountability.conftest import AUDITOR, settings_for
from watchfloor import auditverify
from watchfloor.accountability.auditlog import record
from watchfloor.accountability.merkle import MerkleTree
from watchfloor.domain.clock import FrozenClock
from watchfloor.services.audit import (
    prove_consistency,
    prove_inclusion,
    public_key,
    sign_checkpoint,
    verify_log,
)
from watchfloor.store.engine import open_store
from watchfloor.wiring import build_context

ACTORS = st.sampled_from(["maria", "li", "ops-bot", "Zoë ✓"])
PURPOSES = st.none() | st.text(max_size=30)


def test_the_audit_log_under_random_use(tmp_path_factory: object) -> None:
    template = Path(tempfile.mkdtemp()) / "template.db"
    open_store(str(template)).close()  # migrate once; every example starts from a copy

    class AuditLogMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.dir = Path(tempfile.mkdtemp())
            shutil.copyfile(template, self.dir / "floor.db")
            self.clock = FrozenClock(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
            self.ctx = build_context(settings_for(str(self.dir / "floor.db"), self.dir), clock=self.clock)
            self.key = auditverify.parse_verifier_key(public_key(self.ctx.settings))
            self.size = 0  # events the log should hold
            self.checkpoints: list[auditverify.SignedCheckpoint] = []
            self.notes: list[tuple[str, str]] = []

        def teardown(self) -> None:
            self.ctx.store.close()
            shutil.rmtree(self.dir, ignore_errors=True)

        @rule(count=st.integers(1, 6), actor=ACTORS, purpose=PURPOSES)
        def append(self, count: int, actor: str, purpose: str | None) -> None:
            self.clock.advance(timedelta(seconds=7))
            with self.ctx.store.transaction() as tx:
                for n in range(count):
                    event = record(
                        tx, actor=actor, action="posts.view", at=self.clock.now(), object_ids=(f"post:{n}",),
                        purpose=purpose,
                    )  # fmt: skip
                    assert event.seq == self.size
                    self.size += 1

        @rule()
        def checkpoint(self) -> None:
            news = not self.checkpoints or self.checkpoints[-1].size != self.size
            result = sign_checkpoint(self.ctx, actor=AUDITOR)
            assert result.signed == news  # an idle log needs no new checkpoint
            self.size += 1 if result.signed else 0  # the signing is itself an event, covered
            head = auditverify.open_checkpoint(result.checkpoint.note, [self.key])
            assert head.size == self.size
            if result.signed:
                self.checkpoints.append(head)
                self.notes.append((f"checkpoint {len(self.notes)}", result.checkpoint.note))

        @precondition(lambda self: bool(self.checkpoints))
        @rule(data=st.data())
        def prove(self, data: st.DataObject) -> None:
            head = data.draw(st.sampled_from(self.checkpoints))
            seq = data.draw(st.integers(0, head.size - 1))
            proof = prove_inclusion(self.ctx, actor=AUDITOR, seq=seq, size=head.size)
            self.size += 1
            assert auditverify.verify_inclusion(proof.leaf_hash, seq, head.size, proof.hashes, head.root)
            older = data.draw(st.sampled_from(self.checkpoints))
            first, second = sorted((older, head), key=lambda c: c.size)
            consistency = prove_consistency(self.ctx, actor=AUDITOR, first=first.size, second=second.size)
            self.size += 1
            assert auditverify.verify_consistency(
                first.size, second.size, first.root, second.root, consistency.hashes
            )

        @rule()
        def verify(self) -> None:
            report = verify_log(self.ctx, actor=AUDITOR, checkpoints=self.notes)
            assert report.ok, report.problems
            assert report.size == self.size
            self.size += 1

        def _tree(self) -> tuple[MerkleTree, list[bytes]]:
            with self.ctx.store.transaction() as tx:
                rows = tx.audit_leaves(0, self.size + 1)
            assert [r.seq for r in rows] == list(range(self.size))
            return MerkleTree(r.leaf_hash for r in rows), [auditverify.hash_leaf(r.leaf) for r in rows]

        @invariant()
        def old_checkpoints_are_consistent_with_the_newest(self) -> None:
            if not self.checkpoints:
                return
            tree, _ = self._tree()
            newest = self.checkpoints[-1]
            for old in self.checkpoints:
                proof = tree.consistency_proof(old.size, newest.size)
                assert auditverify.verify_consistency(old.size, newest.size, old.root, newest.root, proof)

        @invariant()
        def every_appended_event_is_provable(self) -> None:
            tree, recomputed = self._tree()
            root = auditverify.root_of(recomputed)  # from the leaf bytes, by the verifier's own code
            for seq in range(self.size):
                assert auditverify.verify_inclusion(
                    recomputed[seq], seq, self.size, tree.inclusion_proof(seq, self.size), root
                )

    run_state_machine_as_test(
        AuditLogMachine, settings=settings(max_examples=20, stateful_step_count=15, deadline=None)
    )
    shutil.rmtree(template.parent, ignore_errors=True)
