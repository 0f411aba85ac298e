"""Accountability: the audit log's Merkle tree and signed checkpoints (permissions and legal basis follow)."""
