"""Raw-ASGI HTML plumbing for the dashboard: cookies, form bodies, pages and redirects with the security
headers every answer carries (the core uses no web framework)."""

from __future__ import annotations

from collections.abc import Iterable
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl

from ..asgi import Headers, Scope, header, read_body
from ..errors import BadRequest, UnsupportedMediaType

FORM = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 64 * 1024  # the largest form (a new key with its lists) is a few hundred bytes

# No script runs on these pages; styles, icons and forms only from the dashboard itself; never framed.
SECURITY_HEADERS: Headers = [
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"x-frame-options", b"DENY"),
]


def cookies(scope: Scope) -> dict[str, str]:
    """The request's cookies; a malformed `Cookie` header counts as none."""
    jar: SimpleCookie = SimpleCookie()
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except CookieError:
                continue
    return {name: morsel.value for name, morsel in jar.items()}


def set_cookie(
    scope: Scope, name: str, value: str, *, path: str, max_age: int | None = None, same_site: str = "Strict"
) -> tuple[bytes, bytes]:
    """A `Set-Cookie` header: HttpOnly, SameSite=Strict (Lax only for the OAuth login's cookie, which must come
    back on the identity provider's redirect), limited to the dashboard's path, Secure over HTTPS; `max_age=0`
    deletes it."""
    parts = [f"{name}={value}", f"Path={path}", "HttpOnly", f"SameSite={same_site}"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if scope.get("scheme") == "https":
        parts.append("Secure")
    return b"set-cookie", "; ".join(parts).encode("latin-1")


class Form:
    """A urlencoded form: `get` the last value of a field, `getall` every value (checkboxes)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def get(self, name: str, default: str = "") -> str:
        values = self.getall(name)
        return values[-1] if values else default

    def getall(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]


async def read_form(scope: Scope, receive: Any) -> Form:
    """The form a page posted; 415 for any other body, 413 past `MAX_FORM_BYTES`, 400 if not UTF-8."""
    content_type = (header(scope, b"content-type") or "").split(";")[0].strip().lower()
    if content_type != FORM:
        raise UnsupportedMediaType(f"Expected a form ({FORM}), got {content_type or 'no content type'!r}")
    body = await read_body(receive, MAX_FORM_BYTES)
    try:
        return Form(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        raise BadRequest("The form is not UTF-8") from None


async def send_html(send: Any, status: int, html: str, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    body = html.encode("utf-8")
    raw: Headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *SECURITY_HEADERS,
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def send_file(send: Any, body: bytes, content_type: bytes) -> None:
    raw: Headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"cache-control", b"public, max-age=3600"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def redirect(send: Any, location: str, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    """303 See Other: after a form's POST the browser GETs `location` (a reload does not post again)."""
    raw: Headers = [
        (b"location", location.encode("latin-1")),
        (b"content-length", b"0"),
        *SECURITY_HEADERS,
        *headers,
    ]
    await send({"type": "http.response.start", "status": 303, "headers": raw})
    await send({"type": "http.response.body", "body": b""})
