"""The `mcp-guard` command: serve, check, demo, keys, servers, audit."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import anyio

from .audit.cli import add_audit_commands
from .auth.cli import add_keys_commands
from .config import GatewayConfig, load_config
from .errors import ConfigError
from .gateway import Gateway
from .middleware.paths import MOUNT
from .observability.logformat import FORMATS, LEVELS, configure_logging
from .reconcile.cli import add_reconcile_command
from .server import serve, warn_without_keys
from .servers.cli import add_servers_commands

logger = logging.getLogger("mcp_guard")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_level, args.log_format)
    try:
        return int(args.run(args) or 0)
    except ConfigError as exc:
        print(f"mcp-guard: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="mcp-guard", description="An enterprise MCP gateway.")
    parser.add_argument("--version", action="version", version=f"mcp-guard {__version__}")
    _add_logging_options(parser, defaults=True)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)  # the logging options also after the command name
    _add_logging_options(common, defaults=False)

    serve_cmd = commands.add_parser("serve", help="run the gateway from a YAML configuration", parents=[common])
    serve_cmd.add_argument("config")
    _add_listen_options(serve_cmd)
    serve_cmd.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="gateway processes on the one port (default 1); more than one needs shared stores "
        "(docs/deployment.md, 'Several workers')",
    )
    serve_cmd.set_defaults(run=_serve)

    check_cmd = commands.add_parser("check", help="validate a configuration (and optionally connect)")
    check_cmd.add_argument("config")
    check_cmd.add_argument("--connect", action="store_true", help="also connect to every upstream and list tools")
    check_cmd.set_defaults(run=_check)

    demo_cmd = commands.add_parser(
        "demo",
        help="run the gateway on embedded defaults with demo tools",
        description="Run the gateway on embedded defaults with demo tools. It prints an admin key last, "
        "once it is listening.",
        epilog="environment: MCP_GUARD_DEMO_KEY=<key> makes the admin key that key instead of a new random one "
        "(any string; keep it secret if the port is reachable from elsewhere).",
        parents=[common],
    )
    _add_listen_options(demo_cmd)
    demo_cmd.add_argument("--data-dir", default=".mcp-guard-demo", help="where the demo keeps its SQLite files")
    demo_cmd.set_defaults(run=_demo)

    add_keys_commands(commands)
    add_servers_commands(commands)
    add_reconcile_command(add_audit_commands(commands))
    return parser


def _add_logging_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """`--log-level` and `--log-format`; given after the command, they override the ones before it."""
    unset = argparse.SUPPRESS
    parser.add_argument(
        "--log-level", choices=LEVELS, default="info" if defaults else unset, help="least severe level logged (info)"
    )
    parser.add_argument(
        "--log-format",
        choices=FORMATS,
        default="text" if defaults else unset,
        help="text (default), json or logfmt; every line, the per-call lines included",
    )


def _add_listen_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive whole number")
    return value


def _importable_cwd() -> None:
    """In-process targets (`module:attribute`) are imported from the working directory, as uvicorn does:
    a console script's own `sys.path` does not include it."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())


def _serve(args: argparse.Namespace) -> None:
    _importable_cwd()
    on_ready = lambda: _announce(args.host, args.port)  # noqa: E731
    if args.workers > 1:
        from .workers import serve_workers

        serve_workers(
            args.config,
            workers=args.workers,
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            log_format=args.log_format,
            on_ready=on_ready,
        )
        return
    gateway = Gateway.from_yaml(args.config)
    if not gateway.config.keys:
        warn_without_keys(gateway, args.config)
    serve(gateway, host=args.host, port=args.port, log_level=args.log_level, on_ready=on_ready)


def _demo(args: argparse.Namespace) -> None:
    from .auth.keys import generate_key
    from .demo import demo_gateway

    data_dir = Path(args.data_dir).resolve()
    admin_key = os.environ.get("MCP_GUARD_DEMO_KEY") or generate_key()
    gateway = demo_gateway(data_dir, admin_key)

    def ready() -> None:  # after uvicorn's start-up lines: the key is the last thing on the console
        _announce(args.host, args.port)
        print(f"           servers       {', '.join(gateway.upstreams)}", flush=True)
        print(f"           data          {data_dir} (SQLite: keys, budgets, audit)", flush=True)
        print(f"           admin key     {admin_key}   (send as: x-api-key: <key>)", flush=True)

    serve(gateway, host=args.host, port=args.port, log_level=args.log_level, on_ready=ready)


def _announce(host: str, port: int) -> None:
    shown = f"[{host}]" if ":" in host else host
    print(f"mcp-guard: MCP endpoint  http://{shown}:{port}{MOUNT}", flush=True)
    print(f"           REST tools    http://{shown}:{port}{MOUNT}/tools", flush=True)


def _check(args: argparse.Namespace) -> int:
    _importable_cwd()
    config = load_config(args.config)
    gateway = Gateway(config)  # also loads in-process targets, so a bad import path fails here
    _print_summary(config)
    _print_checkpoints(config)
    if args.connect:
        return anyio.run(_connect_all, gateway)
    return 0


def _print_summary(config: GatewayConfig) -> None:
    print(f"configuration OK: {len(config.servers)} server(s)")
    for server in config.servers:
        where = server.url or server.command or server.target
        print(f"  {server.name:<20} {server.transport:<9} {where}{'' if server.enabled else '  (disabled)'}")


def _print_checkpoints(config: GatewayConfig) -> None:
    """Read the checkpoint key as `serve` will (a missing or unusable one is an error now) and name it."""
    options = config.audit.checkpoints
    if options is None:
        return
    from .audit.checkpoint_keys import read_key_material, signer_from

    signer = signer_from(*read_key_material(key_file=options.key_file, key_env=options.key_env))
    every = f"every {options.every_records} records or {options.every_seconds:g} s"
    print(f"audit checkpoints: key {signer.key_id} ({signer.algorithm}), {every}")


async def _connect_all(gateway: Gateway) -> int:
    async with gateway.lifespan():
        failed = 0
        for upstream in gateway.upstreams.values():
            status = upstream.status
            print(f"  {status.name:<20} {status.state:<12} {status.tool_count} tools  {status.last_error or ''}")
            failed += status.state not in ("connected", "disabled")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
