"""An upstream's event-stream reply to one request, read as it arrives, as the SDK client's streamable-HTTP
transport reads it (`_handle_sse_event`): the SDK's own incremental parser (httpx2's, with the SDK's 1 MiB
event limit), events of type `message` with data, the first JSON-RPC response the answer; the request's
progress notifications handed to its sink in order, before the answer, and log messages to the log relay.
Used by `direct_http.py`, whose connection feeds it the body as httptools parses it."""

from __future__ import annotations

import asyncio
import codecs
import collections
import json
import logging
from typing import Any, TypeVar

import mcp_types as types
from httpx2._sse import _SSEParser  # the SDK client's own incremental parser (its transport's EventSource)
from mcp.client.streamable_http import DEFAULT_MAX_SSE_EVENT_SIZE
from mcp.shared.dispatcher import coerce_request_id

from ..progress import ProgressSink
from .base import LogMessage

Progress = tuple[float, float | None, str | None]  # (progress, total, message) of one notification
_R = TypeVar("_R")
logger = logging.getLogger(__name__)


class Listener:
    """The notifications of one request, as its event stream brings them. Progress is queued by the
    connection (in its protocol callbacks, which cannot await) and handed to the call's sink by the calling
    task; a log message goes to the log relay at once (it only posts it to the clients' inboxes)."""

    __slots__ = ("heard", "on_log", "sink", "token", "waiter")

    def __init__(self, request_id: int, sink: ProgressSink | None, on_log: LogMessage | None) -> None:
        self.token = request_id
        self.sink = sink
        self.on_log = on_log
        self.heard: collections.deque[Progress] = collections.deque()
        self.waiter: asyncio.Future[None] | None = None

    def log(self, params: Any) -> None:
        """A `notifications/message`, to the log relay as the SDK client's message handler passes it on."""
        if self.on_log is None:
            return
        try:
            self.on_log(types.LoggingMessageNotificationParams.model_validate(params, by_name=False))
        except Exception:  # a malformed message, or a failing relay: the message is lost, never the call
            logger.exception("log message of the upstream not relayed")

    def hear(self, params: Any) -> None:
        """Queue a `notifications/progress` if it is this request's (the SDK dispatcher's own checks)."""
        if self.sink is None:
            return
        match params:
            case {"progressToken": str() | int() as token, "progress": int() | float() as progress} if (
                not isinstance(token, bool)
                and not isinstance(progress, bool)
                and coerce_request_id(token) == self.token
            ):
                total, message = params.get("total"), params.get("message")
                self.heard.append(
                    (
                        float(progress),
                        float(total) if isinstance(total, int | float) else None,
                        message if isinstance(message, str) else None,
                    )
                )
                self.wake()

    def wake(self, *_: object) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def relay_until(self, reply: asyncio.Future[_R]) -> _R:
        """Hand each progress notification to the sink as it arrives, in order; then the reply."""
        loop = asyncio.get_running_loop()
        reply.add_done_callback(self.wake)
        while True:
            while self.heard and self.sink is not None:
                try:
                    await self.sink(*self.heard.popleft())
                except Exception:  # as the SDK's dispatcher: a failing sink costs the notification, not the call
                    logger.exception("progress callback raised")
            if reply.done():
                return reply.result()
            self.waiter = loop.create_future()
            await self.waiter


class EventStream:
    """An event-stream body read as it arrives, as the SDK's transport reads it (`_handle_sse_event`): events
    of type `message` with data; the first JSON-RPC response is the answer; progress and log messages go to
    `listener`."""

    __slots__ = ("answer", "listener", "_parser", "_text")

    def __init__(self, listener: Listener | None) -> None:
        self.listener = listener
        self.answer: dict[str, Any] | None = None
        self._parser = _SSEParser(DEFAULT_MAX_SSE_EVENT_SIZE)
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")  # as httpx2's `aiter_text`

    def feed(self, chunk: bytes) -> None:
        for event in self._parser.decode(self._text.decode(chunk)):
            self._take(event.event, event.data)

    def end(self) -> None:
        for event in self._parser.decode(self._text.decode(b"", final=True)):
            self._take(event.event, event.data)
        for event in self._parser.flush():
            self._take(event.event, event.data)

    def _take(self, kind: str, data: str) -> None:
        if kind != "message" or not data or self.answer is not None:
            return  # another event type, a priming event, or anything after the answer: as the SDK ignores them
        message = json.loads(data)  # ValueError: an unreadable reply
        if not isinstance(message, dict):
            return
        if "id" in message and ("result" in message or "error" in message):
            self.answer = message
        elif self.listener is not None:
            method = message.get("method")
            if method == "notifications/progress":
                self.listener.hear(message.get("params"))
            elif method == "notifications/message":
                self.listener.log(message.get("params"))
