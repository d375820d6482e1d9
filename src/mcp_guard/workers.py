"""`mcp-guard serve --workers N`: N gateway processes answering on one port.

uvicorn's own supervisor (`uvicorn.supervisors.Multiprocess`) starts N workers; it restarts a worker that dies
or hangs, and on SIGHUP replaces every worker one by one (each re-reads the configuration file: that is the
reload). Each worker listens on a socket of its own bound with `SO_REUSEPORT`, so the kernel spreads new
connections over the workers by hash. (uvicorn's default, one socket all workers accept on, handed all 16
keep-alive connections of the bench to one worker: the first one awake accepts everything queued.) Each worker
builds its own `Gateway` from the same file (`worker_app`), so workers share nothing but the configured
stores: Redis or SQLite for rate limits, budgets and confirmations, PostgreSQL or SQLite for keys and
audit. `shared_state_problems` refuses, before anything starts, a store that only one process can see.

A worker receives SIGKILL when the supervisor dies, however it dies (`children.die_with`), so no worker
outlives `kill -9` of the parent. Each response carries the answering worker's pid in
`x-mcp-guard-worker` (diagnostics; it also shows a load balancer spreading the calls).

Metrics: `PROMETHEUS_MULTIPROC_DIR` makes `/metrics` of any worker add up all of them (see
docs/operations.md); when it is unset, `serve_workers` creates a private directory for the run.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable
from typing import Any

from .config import GatewayConfig, load_config
from .errors import ConfigError
from .observability.metrics import multiprocess_dir
from .router.portable_sessions import SESSION_SECRET_ENV, new_secret

__all__ = ["WORKER_HEADER", "serve_workers", "shared_state_problems", "worker_app"]
logger = logging.getLogger(__name__)

WORKER_HEADER = b"x-mcp-guard-worker"
_ENV_CONFIG = "MCP_GUARD_WORKER_CONFIG"
_ENV_LOGGING = "MCP_GUARD_WORKER_LOGGING"
_ENV_PARENT = "MCP_GUARD_WORKER_PARENT"
_MEMORY = "memory://"
_READY_TIMEOUT = 120.0  # seconds a worker may take to start (upstreams connect at start-up)


def shared_state_problems(config: GatewayConfig) -> list[str]:
    """What would be per-process state with several workers, each as a sentence naming the setting and a fix.

    Refused rather than warned about: with `memory://` a limit of 100/minute would admit 100 per worker, a
    budget would be overspent N times, a confirmation id or a runtime key made on one worker would be unknown
    on the others, and an audit log in memory or a JSON-lines file would be lost or interleaved. SQLite is
    shared by the processes of one machine (its write lock orders the audit chain and the ledgers), so it is
    accepted; workers are always on one machine."""
    problems: list[str] = []
    limits = config.rate_limits
    if limits.storage == _MEMORY and (limits.rules or limits.requests_per_key):
        problems.append("rate_limits.storage is memory:// (each worker would count alone): use redis://host:port")
    if config.budgets.storage == _MEMORY and _has_budgets(config):
        problems.append(
            "budgets.storage is memory:// (each worker would spend the whole budget): use redis://host:port or "
            "sqlite:///path"
        )
    if config.confirmations.storage == _MEMORY:
        problems.append(
            "confirmations.storage is memory:// (an id issued by one worker is unknown to the others): use "
            "redis://host:port"
        )
    if config.llm.token_limits.storage == _MEMORY and config.llm.token_limits.rules:
        problems.append("llm.token_limits.storage is memory://: use redis://host:port")
    if config.auth.store == _MEMORY or config.servers_store == _MEMORY:
        problems.append(
            "auth.store / servers_store is memory:// (keys or servers added at run time would exist in one "
            "worker only): use sqlite:///path or postgresql://"
        )
    if config.audit.sink == _MEMORY or config.audit.sink.startswith("jsonl:"):
        problems.append(
            f"audit.sink {config.audit.sink.split('?')[0]!r} cannot be shared by processes: use sqlite:///path "
            "or postgresql://"
        )
    return problems


def _has_budgets(config: GatewayConfig) -> bool:
    return any(
        tier.budget is not None
        for tiers in (config.customers.values(), config.teams.values(), config.keys)
        for tier in tiers
    )


def serve_workers(
    config_path: str,
    *,
    workers: int,
    host: str,
    port: int,
    log_level: str,
    log_format: str,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Run `workers` gateway processes on `host:port` under uvicorn's supervisor until SIGINT/SIGTERM.
    Raises `ConfigError` (before binding anything) when the configuration keeps state per process."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    path = os.path.abspath(config_path)
    settings = load_config(path)
    problems = shared_state_problems(settings)
    if problems:
        raise ConfigError(
            f"--workers {workers} needs state every worker shares; {path}:\n  - " + "\n  - ".join(problems)
        )
    if not settings.keys:  # said once, by the supervisor, before any worker starts
        from .gateway import Gateway
        from .server import warn_without_keys

        warn_without_keys(Gateway(settings), config_path)
    own_metrics_dir = _metrics_dir()
    os.environ.update({_ENV_CONFIG: path, _ENV_LOGGING: f"{log_level},{log_format}", _ENV_PARENT: str(os.getpid())})
    os.environ[SESSION_SECRET_ENV] = new_secret()  # signs handshake-era session ids every worker accepts
    config = uvicorn.Config(
        "mcp_guard.workers:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_worker_healthcheck=30,
    )

    class Supervisor(Multiprocess):
        """uvicorn's supervisor; `on_ready` runs once every worker has started serving."""

        def init_processes(self) -> None:
            super().init_processes()
            ready = all(worker.wait_until_ready(_READY_TIMEOUT, self.should_exit) for worker in self.processes)
            if ready and on_ready is not None:
                on_ready()

    claim = ReusePortSocket.claim(host, port)  # fails at once when something else holds the port
    try:
        Supervisor(config, sockets=[claim]).run()
    finally:
        claim.close()
        if own_metrics_dir is not None:
            shutil.rmtree(own_metrics_dir, ignore_errors=True)


class ReusePortSocket(socket.socket):
    """A TCP socket bound with `SO_REUSEPORT` whose pickled form is *a new socket* bound to the same address.

    uvicorn's supervisor sends its sockets to each worker by pickling them; multiprocessing's reducer for
    `socket.socket` duplicates the descriptor, so all workers would share one socket. This subclass has its
    own reduction instead, so every worker (a restarted one too) binds a socket of its own and listens on it.
    The supervisor's own copy is bound, never listening: it claims the port and receives no connection."""

    @classmethod
    def claim(cls, host: str, port: int) -> ReusePortSocket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = cls(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        return sock

    def __reduce__(self) -> tuple[Any, ...]:
        host, port = self.getsockname()[:2]
        return (_rebind, (host, port))


def _rebind(host: str, port: int) -> socket.socket:
    """In a worker: its own socket on the supervisor's address (a plain socket: it is not sent further)."""
    sock = ReusePortSocket.claim(host, port)
    return socket.socket(sock.family, sock.type, sock.proto, fileno=sock.detach())


def _metrics_dir() -> str | None:
    """A fresh `PROMETHEUS_MULTIPROC_DIR` for this run when none is set (the workers inherit it); returned so
    it is removed at the end. A directory the operator set is theirs: prometheus-client wants it emptied
    between runs, which is left to them (docs/operations.md)."""
    if multiprocess_dir() is not None:
        return None
    directory = tempfile.mkdtemp(prefix="mcp-guard-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    return directory


def worker_app() -> Any:
    """The app of one worker (uvicorn calls this factory in the worker process): it dies with the
    supervisor, logs as the command line asked, and builds the gateway from the configuration file."""
    from .children import die_with
    from .gateway import Gateway
    from .observability.logformat import configure_logging
    from .server import standalone_app

    die_with(int(os.environ[_ENV_PARENT]))
    level, _, kind = os.environ.get(_ENV_LOGGING, "info,text").partition(",")
    configure_logging(level, kind)  # type: ignore[arg-type]  # checked by argparse in the parent
    # uvicorn turned its access log off before this ran (`access_log=False`); configure_logging re-attached it
    logging.getLogger("uvicorn.access").propagate = False
    if os.getcwd() not in sys.path:  # in-process targets import from the working directory, as in `serve`
        sys.path.insert(0, os.getcwd())
    gateway = Gateway.from_yaml(os.environ[_ENV_CONFIG])
    return with_worker_header(standalone_app(gateway))


def with_worker_header(app: Any) -> Any:
    """`app` with `x-mcp-guard-worker: <pid>` on every HTTP response."""
    pid = str(os.getpid()).encode()

    async def tagged(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_tagged(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), (WORKER_HEADER, pid)]}
            await send(message)

        await app(scope, receive, send_tagged)

    return tagged
