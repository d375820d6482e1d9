"""The framed protocol between the gateway and a Code Mode worker process, over a Unix socket pair.

A frame is two big-endian 32-bit lengths, a JSON header (an object with a `t` field naming the message)
and a payload of raw bytes (program text, a call's arguments JSON, an answer's JSON), so large texts cross
without being escaped twice:

    gateway → worker   run     {servers, settings}            payload: the TypeScript program
                       answer  {id}                           payload: {"ok": true, "value": ...} or an error
    worker → gateway   ready   {pid}                          once, when V8 is up
                       call    {id, server, tool}             payload: the arguments' JSON
                       done    {ok, value, logs, error, recycle}

Frames are written by Python code on both sides: the program inside V8 can put bytes only into a payload
or a string field, never into the framing. Every read is bounded (`FrameError` beyond `max_bytes`).
Both ends use the event loop running at the time of each call, so a channel is not bound to one loop.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from typing import Any

_LENGTHS = struct.Struct(">II")
_READ_CHUNK = 256 * 1024


class FrameError(Exception):
    """The other side broke the protocol (a frame too large, a header that is not a JSON object)."""


def encode(header: dict[str, Any], payload: bytes = b"") -> bytes:
    """One frame's bytes."""
    head = json.dumps(header, separators=(",", ":")).encode("ascii")  # ASCII: lone surrogates stay escaped
    return _LENGTHS.pack(len(head), len(payload)) + head + payload


class FrameReader:
    """Reads whole frames from a non-blocking socket."""

    def __init__(self, sock: socket.socket, max_bytes: int) -> None:
        self.sock = sock
        self.max_bytes = max_bytes
        self._buffer = bytearray()

    async def read(self) -> tuple[dict[str, Any], bytes] | None:
        """The next frame, or None when the other side closed its end."""
        while True:
            frame = self._take()
            if frame is not None:
                return frame
            chunk = await asyncio.get_running_loop().sock_recv(self.sock, _READ_CHUNK)
            if not chunk:
                return None
            self._buffer += chunk

    def read_blocking(self, timeout: float) -> tuple[dict[str, Any], bytes] | None:
        """The next frame from a blocking socket, or None at EOF or after `timeout` seconds."""
        self.sock.settimeout(timeout)
        try:
            while (frame := self._take()) is None:
                chunk = self.sock.recv(_READ_CHUNK)
                if not chunk:
                    return None
                self._buffer += chunk
            return frame
        except (TimeoutError, OSError):
            return None

    def _take(self) -> tuple[dict[str, Any], bytes] | None:
        if len(self._buffer) < _LENGTHS.size:
            return None
        head_size, payload_size = _LENGTHS.unpack_from(self._buffer)
        if head_size + payload_size > self.max_bytes:
            raise FrameError(f"a frame of {head_size + payload_size} bytes, over the {self.max_bytes}-byte limit")
        end = _LENGTHS.size + head_size + payload_size
        if len(self._buffer) < end:
            return None
        head = bytes(self._buffer[_LENGTHS.size : _LENGTHS.size + head_size])
        payload = bytes(self._buffer[_LENGTHS.size + head_size : end])
        del self._buffer[:end]
        try:
            header = json.loads(head)
        except ValueError:
            header = None
        if not isinstance(header, dict) or not isinstance(header.get("t"), str):
            raise FrameError("a frame header that is not a JSON object with a message type")
        return header, payload


class FrameWriter:
    """Writes frames to a non-blocking socket, one at a time (concurrent writers would interleave)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._lock: asyncio.Lock | None = None

    async def write(self, header: dict[str, Any], payload: bytes = b"") -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            await asyncio.get_running_loop().sock_sendall(self.sock, encode(header, payload))

    def rebind(self) -> None:
        """Forget the lock: the next run may happen on another event loop."""
        self._lock = None
