"""What every host app has and its own test suite: the app's own Bearer auth, CORS for its browser front
end, a public route, `/items/{item_id}`, OpenAPI and docs pages, static files, a websocket route and state
from its own lifespan. `check_host_app` is the app's test suite; it must pass unchanged after
`install(app, gateway)` / `MCPGuardPlugin(gateway)`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starlette.testclient import TestClient

STATIC = Path(__file__).with_name("static")
FRONT_END = "https://shop.example"  # the app's own browser front end (its CORS policy)
APP_TOKENS = {"app-token-alice": "alice", "app-token-bob": "bob"}  # the app's own Bearer tokens
ITEMS = {1: {"id": 1, "name": "lamp"}, 2: {"id": 2, "name": "desk"}}
BASE_URL = "http://127.0.0.1"  # a loopback Host: the MCP endpoint's DNS-rebinding check accepts it


@dataclass(frozen=True)
class Paths:
    """Where each framework serves its docs."""

    docs: str
    openapi: str


def app_user(authorization: str | None) -> str | None:
    """The app's own authentication: `Authorization: Bearer <app token>`."""
    scheme, _, token = (authorization or "").partition(" ")
    return APP_TOKENS.get(token.strip()) if scheme.lower() == "bearer" else None


def check_host_app(client: TestClient, paths: Paths) -> int:
    """The host app's own tests; returns how many checks ran."""
    alice = {"Authorization": "Bearer app-token-alice"}
    checks = [
        client.get("/").json() == {"service": "items"},
        client.get("/items/1").status_code == 401,  # the app's own auth
        client.get("/items/1", headers={"Authorization": "Bearer wrong"}).status_code == 401,
        client.get("/items/1", headers=alice).json() == {"id": 1, "name": "lamp", "owner": "alice"},
        client.get("/items/2", headers={"Authorization": "Bearer app-token-bob"}).json()["owner"] == "bob",
        client.get("/items/99", headers=alice).status_code == 404,
        client.get("/state").json() == {"started": True},  # from the app's own lifespan
    ]
    preflight = client.options(
        "/items/1",
        headers={
            "Origin": FRONT_END,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    checks += [
        preflight.status_code in (200, 204),
        preflight.headers.get("access-control-allow-origin") == FRONT_END,
        client.get("/", headers={"Origin": FRONT_END}).headers.get("access-control-allow-origin") == FRONT_END,
    ]
    docs, openapi = client.get(paths.docs), client.get(paths.openapi)
    checks += [
        docs.status_code == 200 and "text/html" in docs.headers["content-type"],
        openapi.status_code == 200 and "/items/" in openapi.text,  # JSON, or YAML from Starlette's generator
        client.get("/static/hello.txt").text == "hello from the host app\n",
        client.get("/static/missing.txt").status_code == 404,
    ]
    with client.websocket_connect("/ws?token=app-token-alice") as socket:
        socket.send_text("ping")
        checks.append(socket.receive_text() == "alice: ping")
    checks.append(_websocket_refused(client, "/ws?token=wrong"))
    failed = [index for index, passed in enumerate(checks) if not passed]
    if failed:
        raise AssertionError(f"host app checks failed: {failed} of {len(checks)}")
    return len(checks)


def _websocket_refused(client: TestClient, path: str) -> bool:
    from starlette.websockets import WebSocketDisconnect

    try:
        with client.websocket_connect(path) as socket:
            socket.receive_text()
    except WebSocketDisconnect:
        return True
    return False
