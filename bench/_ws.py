"""A small WebSocket client over asyncio streams (enough of RFC 6455 for JSON text frames).

The benchmarks drive real sockets against a real ASGI server without another dependency.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class WebSocket:
    """A WebSocket client over asyncio streams: enough of RFC 6455 for JSON text frames."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, host: str, port: int, path: str, cookie: str = "") -> WebSocket:
        reader, writer = await asyncio.open_connection(host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://{host}:{port}\r\n"
            f"Cookie: {cookie}\r\n\r\n"
        )
        writer.write(request.encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(head.decode(errors="replace").splitlines()[0])
        return cls(reader, writer)

    async def send_json(self, message: dict) -> None:
        payload = json.dumps(message).encode()
        mask = os.urandom(4)
        size = len(payload)
        if size < 126:
            header = struct.pack("!BB", 0x81, 0x80 | size)
        elif size < 1 << 16:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, size)
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, size)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))  # clients must mask
        self.writer.write(header + mask + masked)
        await self.writer.drain()

    async def _frame(self) -> tuple[int, bool, bytes]:
        first, second = await self.reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
        mask = await self.reader.readexactly(4) if second & 0x80 else b""
        data = await self.reader.readexactly(size)
        if mask:
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        return first & 0x0F, bool(first & 0x80), data

    async def recv_json(self) -> dict:
        parts: list[bytes] = []
        while True:
            opcode, fin, data = await self._frame()
            if opcode == 0x9:  # ping: answer with the same payload
                mask = os.urandom(4)
                self.writer.write(
                    bytes([0x8A, 0x80 | len(data)])
                    + mask
                    + bytes(b ^ mask[i % 4] for i, b in enumerate(data))
                )
                continue
            if opcode == 0x8:
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
                raise ConnectionError(f"closed by the server ({code})")
            if opcode in (0x1, 0x0):
                parts.append(data)
                if fin:
                    return json.loads(b"".join(parts))

    async def close(self) -> None:
        mask = os.urandom(4)
        payload = struct.pack("!H", 1000)
        self.writer.write(bytes([0x88, 0x82]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        try:
            await self.writer.drain()
        finally:
            self.writer.close()


async def http_get(host: str, port: int, path: str, timeout: float) -> tuple[int, int]:
    """One HTTP/1.1 GET on a fresh connection, as a browser's first page load: (status, body bytes)."""

    async def fetch() -> tuple[int, int]:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            body = await reader.read()  # to EOF: the server closes after a `Connection: close` answer
            return int(head.split(b" ", 2)[1]), len(body)
        finally:
            writer.close()

    return await asyncio.wait_for(fetch(), timeout)
