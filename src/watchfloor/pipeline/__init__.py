"""Enrichment pipeline: pure, idempotent stages from a connector's Post to what the store receives.

Stages, in order: ``normalise`` (Unicode and control characters, collection time), ``selectors``
(URLs, domains, hashtags, mentions, e-mails, phones), ``language`` (offline fastText, batched) and
``dedup`` (exact content hash and MinHash-LSH band keys, batched). ``prepare_batch`` composes them.
"""

from watchfloor.domain.post import Prepared
from watchfloor.pipeline.run import prepare_batch

__all__ = ["Prepared", "prepare_batch"]
