"""`mcp-guard servers …` and `mcp-guard reload`: the admin API of a running gateway, from a shell.

    mcp-guard servers list
    mcp-guard servers add search --set transport=http --set url=http://127.0.0.1:9000/mcp
    mcp-guard servers add search --file search.yaml          # one server entry, YAML or JSON
    mcp-guard servers update search --set call_timeout=60     # PATCH: only the fields given
    mcp-guard servers disable search | enable search | remove search | get search
    mcp-guard reload                                         # read the configuration file again

`--url` (default `$MCP_GUARD_URL`, else http://127.0.0.1:8000) is the gateway, `--key` (default
`$MCP_GUARD_KEY`) an admin key. `--set` values are YAML scalars or lists (`--set args=[a,b]`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

MOUNT = "/mcp"


def add_servers_commands(subparsers: Any) -> None:
    servers = subparsers.add_parser("servers", help="list and change the upstream servers of a running gateway")
    commands = servers.add_subparsers(required=True, metavar="COMMAND")
    listing = commands.add_parser("list", help="every server with its state and source")
    _connection(listing)
    listing.set_defaults(run=_list)
    for name, help_text in (("add", "add a runtime server"), ("update", "change fields of a server (PATCH)")):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("name")
        command.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="a field of the entry")
        command.add_argument("--file", type=Path, help="a YAML or JSON file holding the entry's fields")
        _connection(command)
        command.set_defaults(run=_add if name == "add" else _update)
    for name, method, suffix, help_text in (
        ("get", "GET", "", "one server's state and configuration"),
        ("remove", "DELETE", "", "remove a runtime server"),
        ("disable", "POST", "/disable", "switch a server off"),
        ("enable", "POST", "/enable", "switch a server on"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("name")
        _connection(command)
        command.set_defaults(run=_simple, method=method, suffix=suffix)
    reload = subparsers.add_parser("reload", help="make a running gateway read its configuration file again")
    _connection(reload)
    reload.set_defaults(run=_reload)


def _connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=os.environ.get("MCP_GUARD_URL", "http://127.0.0.1:8000"), help="the gateway")
    parser.add_argument("--key", default=os.environ.get("MCP_GUARD_KEY"), help="an admin key ($MCP_GUARD_KEY)")


def _list(args: argparse.Namespace) -> int:
    answer = _request(args, "GET", "/servers")
    if answer is None:
        return 1
    for server in answer["servers"]:
        error = server.get("last_error") or ""
        print(
            f"{server['name']:<20} {server['source']:<8} {server['state']:<12} {server['tool_count']:>4} tools  {error}"
        )
    return 0


def _add(args: argparse.Namespace) -> int:
    entry = {**_entry(args), "name": args.name}
    return _show(_request(args, "POST", "/servers", entry))


def _update(args: argparse.Namespace) -> int:
    return _show(_request(args, "PATCH", f"/servers/{args.name}", _entry(args)))


def _simple(args: argparse.Namespace) -> int:
    return _show(_request(args, args.method, f"/servers/{args.name}{args.suffix}"))


def _reload(args: argparse.Namespace) -> int:
    return _show(_request(args, "POST", "/admin/reload"))


def _entry(args: argparse.Namespace) -> dict[str, Any]:
    import yaml

    entry: dict[str, Any] = {}
    if args.file is not None:
        loaded = yaml.safe_load(args.file.read_text(encoding="utf-8"))
        if not isinstance(loaded, dict):
            raise SystemExit(f"mcp-guard: {args.file}: expected the fields of one server entry")
        entry.update(loaded)
    for assignment in args.set:
        field, sep, value = assignment.partition("=")
        if not sep or not field:
            raise SystemExit(f"mcp-guard: --set {assignment!r}: expected FIELD=VALUE")
        entry[field.strip()] = yaml.safe_load(value) if value else ""
    return entry


def _request(args: argparse.Namespace, method: str, path: str, body: Any = None) -> Any:
    """The answer's JSON; None (with the problem printed) on a refusal or when the gateway is unreachable."""
    import httpx2

    if not args.key:
        print("mcp-guard: an admin key is needed: --key or $MCP_GUARD_KEY", file=sys.stderr)
        return None
    headers = {"authorization": f"Bearer {args.key}"}
    try:
        response = httpx2.request(method, args.url.rstrip("/") + MOUNT + path, json=body, headers=headers, timeout=30)
    except httpx2.HTTPError as exc:
        print(f"mcp-guard: {args.url} is unreachable: {exc}", file=sys.stderr)
        return None
    if response.status_code >= 400:
        detail = response.json().get("detail") if response.headers.get("content-type", "").endswith("json") else None
        print(f"mcp-guard: {response.status_code}: {detail or response.text}", file=sys.stderr)
        return None
    return response.json() if response.content else {}


def _show(answer: Any) -> int:
    if answer is None:
        return 1
    if answer:
        print(json.dumps(answer, indent=2))
    return 0
