"""A real PNG image for the tests that upload photos: tiny, but a photo as far as a browser and the upload's
magic-number check are concerned."""

from __future__ import annotations

import struct
import zlib


def png(width: int = 2, height: int = 1) -> bytes:
    """A `width` × `height` PNG of blue pixels, as a phone would send a photo."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x20\x60\xc0" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
