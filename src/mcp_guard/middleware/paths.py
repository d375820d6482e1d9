"""Which requests a middleware governs: the gateway's own mount by default, or the paths an app names.

In a host app the middlewares govern only the gateway's mount (`/mcp` and everything below it). The app's
own routes, docs, OpenAPI, static files and websockets pass through untouched unless the app names them
here (glob patterns such as `/api/*` or `/items/*/export`) or opts a single route in with its framework's
idiom (see `mcp_guard.routes`). CORS preflights (`OPTIONS` with `Access-Control-Request-Method`) are never
governed: they go on to whoever answers CORS (the app's CORS middleware, or the mount's own, `cors:`).

Patterns are shell-style globs over the request path below the app's `root_path` (what its routes match);
`*` also crosses `/`. A pattern is `*` (every path) or starts with `/`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

from ..asgi import Scope, app_path

MOUNT = "/mcp"
EVERY_PATH: tuple[str, ...] = ("*",)

_GLOB_CHARS = frozenset("*?[")
_GOVERNED_TYPES = frozenset(("http", "websocket"))


def mount_paths(mount: str = MOUNT) -> tuple[str, ...]:
    """The patterns of a mount point: the point itself and everything below it."""
    mount = "/" + mount.strip("/")
    return (mount, f"{mount}/*")


DEFAULT_PATHS = mount_paths(MOUNT)


class PathScope:
    """Paths matching any `include` pattern and no `exclude` pattern.

    Plain paths and `prefix/*` patterns (the common cases) are checked with a set lookup and `startswith`;
    only real globs go through a regular expression."""

    __slots__ = ("_everything", "_excluded", "_included", "patterns")

    def __init__(self, include: Iterable[str] = DEFAULT_PATHS, exclude: Iterable[str] = ()) -> None:
        include, exclude = tuple(include), tuple(exclude)
        self.patterns = include
        self._everything = "*" in include and not exclude
        self._included = _Matcher(include)
        self._excluded = _Matcher(exclude)

    def covers(self, path: str) -> bool:
        return self._everything or (self._included.matches(path) and not self._excluded.matches(path))

    def governs(self, scope: Scope) -> bool:
        """An HTTP request or websocket handshake on a covered path that is not a CORS preflight."""
        if scope["type"] not in _GOVERNED_TYPES:
            return False
        if not self._everything and not self.covers(app_path(scope)):
            return False
        return not is_preflight(scope)

    def __repr__(self) -> str:
        return f"PathScope({self.patterns!r})"


class _Matcher:
    __slots__ = ("_all", "_exact", "_prefixes", "_regex")

    def __init__(self, patterns: tuple[str, ...]) -> None:
        exact: set[str] = set()
        prefixes: list[str] = []
        globs: list[str] = []
        for pattern in patterns:
            _check(pattern)
            if not _GLOB_CHARS.intersection(pattern):
                exact.add(pattern)
            elif pattern.endswith("/*") and not _GLOB_CHARS.intersection(pattern[:-1]):
                prefixes.append(pattern[:-1])  # `/api/*` → everything starting with `/api/`
            else:
                globs.append(fnmatch.translate(pattern))
        self._all = "*" in patterns
        self._exact = frozenset(exact)
        self._prefixes = tuple(prefixes)
        self._regex = re.compile("|".join(globs)) if globs else None

    def matches(self, path: str) -> bool:
        return (
            self._all
            or path in self._exact
            or (bool(self._prefixes) and path.startswith(self._prefixes))
            or (self._regex is not None and self._regex.match(path) is not None)
        )


def _check(pattern: str) -> None:
    if pattern != "*" and not pattern.startswith("/"):
        raise ValueError(f"path pattern {pattern!r} must start with '/' (or be '*' for every path)")


def is_preflight(scope: Scope) -> bool:
    """A CORS preflight: `OPTIONS` carrying `Access-Control-Request-Method`."""
    if scope.get("method") != "OPTIONS":
        return False
    return any(name == b"access-control-request-method" for name, _ in scope.get("headers", ()))
