"""watchfloor: an open, self-hosted, accountable watch floor for public social media."""

__version__ = "0.1.0"
