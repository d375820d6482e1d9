"""`mcp-guard keys create`: a new key, printed once, and the entry to paste under `keys:`; or, with `--export
NAME`, shell lines that put the key and its hash in `NAME_KEY` / `NAME_KEY_HASH` (for a configuration that
reads `hash: "${NAME_KEY_HASH}"`)."""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from typing import Any

import yaml

from .keys import generate_key, hash_key

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def add_keys_commands(subparsers: Any) -> None:
    keys = subparsers.add_parser("keys", help="manage virtual keys")
    commands = keys.add_subparsers(required=True, metavar="COMMAND")
    create = commands.add_parser("create", help="generate a key and print its config entry")
    create.add_argument("name", help="unique key name (shown in audit records and errors)")
    create.add_argument("--roles", default="", help="comma-separated role names")
    create.add_argument("--team", help="team name")
    create.add_argument("--customer", help="customer name (defaults to the team's)")
    create.add_argument(
        "--export",
        metavar="NAME",
        help='print `export NAME_KEY=... NAME_KEY_HASH=...` instead, for: eval "$(mcp-guard keys create ...)"',
    )
    create.set_defaults(run=_create)


def _create(args: argparse.Namespace) -> int:
    key = generate_key()
    entry: dict[str, Any] = {"name": args.name, "hash": hash_key(key)}
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    if roles:
        entry["roles"] = roles
    for field in ("team", "customer"):
        if getattr(args, field):
            entry[field] = getattr(args, field)
    if args.export:
        return _export(args.export, key, entry["hash"])
    print(f"key (shown once, store it now): {key}")
    print("\nadd under `keys:` in the configuration:\n")
    print(yaml.safe_dump([entry], sort_keys=False).rstrip())
    return 0


def _export(name: str, key: str, key_hash: str) -> int:
    if not _ENV_NAME.match(name):
        print(f"mcp-guard: --export {name!r} is not an environment variable name", file=sys.stderr)
        return 2
    print(f"export {name}_KEY={shlex.quote(key)} {name}_KEY_HASH={shlex.quote(key_hash)}")
    return 0
