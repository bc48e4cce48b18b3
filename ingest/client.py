"""paho's MQTT client, reading its socket in large chunks.

paho 2.x reads each packet with three or four `recv` calls (the fixed header a byte at a time) and handles one
packet per `select`; on ingest's network thread, the Python bottleneck, those calls were a quarter of its time
(docs/ingest.md, Performance). This client reads up to 64 KiB at once and hands paho the bytes from that buffer,
then lets paho parse every packet the buffer still holds before it goes back to `select` (which cannot see bytes
that are already out of the socket). Packets, acknowledgements and reconnects are paho's own.
"""

from __future__ import annotations

from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

# Bytes asked of the socket at once: many ~250-byte PUBLISH packets per system call.
READ_SIZE = 65536


class BufferedClient(mqtt.Client):
    """`paho.mqtt.client.Client` with a read buffer; relies on paho 2.x calling `_sock_recv` for every read."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_buffer = b""
        self._read_pos = 0
        self._read_sock: object = None
        self._refill = True

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._sock is not self._read_sock:  # a new connection: what the old one left is not ours to parse
            self._read_buffer, self._read_pos, self._read_sock = b"", 0, self._sock
        if self._read_pos >= len(self._read_buffer):
            if not self._refill:
                raise BlockingIOError  # paho keeps the partial packet and resumes when select() says readable
            data = super()._sock_recv(READ_SIZE)
            if not data:
                return data  # the connection is closed
            self._read_buffer, self._read_pos = data, 0
        start = self._read_pos
        self._read_pos = min(start + bufsize, len(self._read_buffer))
        return self._read_buffer[start:self._read_pos]

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        rc = super().loop_read(max_packets)
        # Parse what is buffered without reading the socket again, so that this ends with the buffer.
        self._refill = False
        try:
            while (rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self._sock is not None
                   and self._read_pos < len(self._read_buffer)):
                rc = super().loop_read(max_packets)
        finally:
            self._refill = True
        return rc
