"""Media files on disk, content-addressed: each file is named by the SHA-256 of its bytes.

``root/ab/cd/abcd...`` (two levels of 256 folders keep any one folder small). A file is written to a
temporary name beside its final place, flushed to disk, then renamed into place atomically, so a crash
leaves either the whole file or none (a stray ``.tmp-*`` at worst). Files are write-once: storing
bytes already stored keeps the existing file. The database says what each file is (``media_objects``);
this class only keeps the bytes.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from watchfloor.domain.errors import InputError, NotFound, StoreError

__all__ = ["MediaFiles"]

_SHA256 = re.compile(r"[0-9a-f]{64}")


class MediaFiles:
    """The media directory: put, read, delete files by their SHA-256."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        """Where the file with this hash lives (whether or not it exists). Refuses anything but a hash."""
        if not _SHA256.fullmatch(sha256):
            raise InputError(f"{sha256!r} is not a SHA-256 (64 lower-case hex digits)")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its SHA-256; an existing file with that hash is kept as it is."""
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        if target.exists():
            return sha256
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temporary, target)  # a concurrent writer of the same hash wrote the same bytes
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
            _fsync_dir(target.parent)
        except OSError as exc:
            raise StoreError(f"cannot write a media file into {self.root}: {exc}") from None
        return sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def read(self, sha256: str) -> bytes:
        """The file's bytes; NotFound if it is not stored."""
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"media file {sha256} is not in {self.root}") from None

    def delete(self, sha256: str) -> bool:
        """Remove the file; False if it was not there."""
        try:
            self.path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def usage(self) -> tuple[int, int]:
        """``(files, bytes)`` stored under the root (walks the directory: for status, not hot paths)."""
        files = size = 0
        if not self.root.is_dir():
            return 0, 0
        for folder, _, names in os.walk(self.root):
            for name in names:
                if _SHA256.fullmatch(name):
                    files += 1
                    size += os.stat(os.path.join(folder, name)).st_size
        return files, size


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
