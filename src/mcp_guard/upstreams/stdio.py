"""The stdio transport: an upstream MCP server run as a child process, spoken to over its stdin/stdout.

The SDK's `stdio_client` does the same, with three gaps that matter for a gateway (measured, see
`docs/deployment.md`): it signals the child's process group only when the child outlives its stdin, so
helpers of a server that exits on end-of-file stayed behind; it learns that the child died only from
end-of-file on stdout, which a helper holding the pipe delays forever; and a message it cannot encode
(a lone surrogate) ends its writer task, and with it the connection of every caller. Here:

- the child is started by `children.spawn` (own session, dies with the gateway) and its whole group is
  ended by `children.end_group` on every exit from this context: respawn, reconnect, shutdown;
- its exit is watched directly (`children.wait_exit`): `on_exit` is told at once, and the streams close,
  so calls in flight fail within ~50 ms instead of waiting for their timeout;
- a message that cannot be sent fails that request alone.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
import mcp_types as types
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.client._transport import TransportStreams
from mcp.client.stdio import get_default_environment
from mcp.shared.message import SessionMessage
from mcp_types import INTERNAL_ERROR

from .. import children
from ..config import ServerConfig
from .direct_stdio import StdioPipe, unsendable

logger = logging.getLogger(__name__)

EXIT_GRACE = 2.0  # seconds a server may take to exit once its stdin is closed (the MCP shutdown sequence)
MAX_LINE = 64 * 1024 * 1024  # one message; a server writing more without a newline is treated as broken
_CHUNK = 64 * 1024

ToServer = MemoryObjectReceiveStream[SessionMessage]
FromServer = MemoryObjectSendStream[SessionMessage | Exception]


@asynccontextmanager
async def stdio_transport(
    config: ServerConfig, on_exit: Callable[[int], None], pipe: StdioPipe | None = None
) -> AsyncIterator[TransportStreams]:
    """Start the configured command and yield the session's streams; the child's group ends on exit.
    Its environment is the configured `env` over the SDK's minimal base (PATH, HOME, USER, ...), never ours.
    `pipe` gets the child's stdin and the answers to the direct path's calls (`direct_stdio.py`)."""
    argv = [config.command or "", *config.args]
    process = await children.spawn(argv, env=get_default_environment() | config.env, cwd=config.cwd)
    pipe = pipe or StdioPipe()
    assert process.stdin is not None  # spawned with pipes
    pipe.attach(process.stdin)
    from_server, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, to_server = anyio.create_memory_object_stream[SessionMessage](0)
    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_read, process, from_server, pipe)
            tasks.start_soon(_write, process, to_server, from_server)
            tasks.start_soon(_watch, process, from_server, on_exit, pipe)
            try:
                yield read_stream, write_stream
            finally:
                tasks.cancel_scope.cancel()
    finally:
        pipe.close()
        with anyio.CancelScope(shield=True):  # a cancelled caller must not leave the child running
            await _stop(process)
            for stream in (read_stream, write_stream, from_server, to_server):
                await stream.aclose()


Process = asyncio.subprocess.Process


async def _read(process: Process, from_server: FromServer, pipe: StdioPipe) -> None:
    """Lines of stdout, each a JSON-RPC message: an answer to a direct call goes to its waiter, anything
    else to the session (an unparsable line as an error)."""
    stdout = process.stdout
    assert stdout is not None  # spawned with pipes
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    buffer = ""
    while chunk := await stdout.read(_CHUNK):
        lines = (buffer + decoder.decode(chunk)).split("\n")
        buffer = lines.pop()
        if len(buffer) > MAX_LINE:
            logger.warning("stdio server sent a line over %d bytes; closing the connection", MAX_LINE)
            break
        for line in lines:
            if line.strip() and not pipe.answers(line):
                await from_server.send(_parse(line))
    pipe.close()
    await from_server.aclose()  # end of file: the session sees the connection closed


def _parse(line: str) -> SessionMessage | Exception:
    try:
        return SessionMessage(types.jsonrpc_message_adapter.validate_json(line, by_name=False))
    except ValueError as exc:
        logger.warning("stdio server sent a line that is not a JSON-RPC message: %s", exc)
        return exc


async def _write(process: Process, to_server: ToServer, from_server: FromServer) -> None:
    stdin = process.stdin
    assert stdin is not None  # spawned with pipes
    async for session_message in to_server:
        message = session_message.message
        try:
            data = (message.model_dump_json(by_alias=True, exclude_unset=True) + "\n").encode("utf-8")
        except (ValueError, UnicodeEncodeError) as exc:  # this message only: the connection stays up
            await _refuse(message, from_server, unsendable(exc))
            continue
        try:
            stdin.write(data)
            await stdin.drain()
        except (ConnectionError, OSError):
            break  # the child is gone; `_watch` or end-of-file reports it
    await from_server.aclose()


async def _refuse(message: object, from_server: FromServer, reason: str) -> None:
    request_id = getattr(message, "id", None)
    if request_id is not None:
        error = types.ErrorData(code=INTERNAL_ERROR, message=reason)
        await from_server.send(SessionMessage(types.JSONRPCError(jsonrpc="2.0", id=request_id, error=error)))


async def _watch(process: Process, from_server: FromServer, on_exit: Callable[[int], None], pipe: StdioPipe) -> None:
    code = await children.wait_exit(process)
    on_exit(code)
    pipe.close()
    await from_server.aclose()  # a helper may hold stdout open: end the session's stream now


async def _stop(process: Process) -> None:
    """The MCP shutdown sequence (close stdin, let the server exit), then end its whole group."""
    if process.stdin is not None and process.returncode is None:
        process.stdin.close()
        with anyio.move_on_after(EXIT_GRACE):
            await children.wait_exit(process)
    await children.end_group(process)
