"""Media enrichment: perceptual hashes, OCR text, camera/time EXIF and video keyframes.

``enrich_media(data, media_type, settings) -> Enrichment`` is the one entry point (the media fetcher
calls it); ``MediaRejected`` is what it raises for files that must not or cannot be decoded;
``EnrichSettings`` holds its limits. See docs/media.md "Enrichment".
"""

from watchfloor.pipeline.media.enrich import ENRICHER, enrich_media
from watchfloor.pipeline.media.errors import MediaRejected
from watchfloor.pipeline.media.settings import EnrichSettings

__all__ = ["ENRICHER", "EnrichSettings", "MediaRejected", "enrich_media"]
