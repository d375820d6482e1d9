"""Virtual keys: format, hashing, resolution, expiry, deactivation, and the KeyAuthMiddleware over raw ASGI."""

import re

import pytest

from mcp_guard.auth.admin import KeyAdmin, NewKey
from mcp_guard.auth.keys import generate_key, hash_key
from mcp_guard.auth.resolver import KeyResolver
from mcp_guard.auth.store import MemoryKeyStore, SqliteKeyStore
from mcp_guard.budget.config import BudgetConfig
from mcp_guard.config import parse_config
from mcp_guard.errors import ConfigError, NotAllowed, Unauthenticated
from mcp_guard.middleware import KeyAuthMiddleware
from mcp_guard.names import ToolRef
from mcp_guard.state import RequestState
from tests.support.clock import ManualClock

from .asgi_helpers import Downstream, Recorder, make_scope, no_body
from .seed import Keys, seed_document

pytestmark = pytest.mark.anyio


def resolver(keys: Keys, store=None, clock=None, **extra) -> KeyResolver:
    config = parse_config(seed_document(keys, **extra))
    return KeyResolver(config, store or MemoryKeyStore(), clock=clock or ManualClock(1_790_000_000.0))


def test_key_format_is_scannable_and_random():
    key = generate_key()
    assert re.fullmatch(r"mcpg_[A-Za-z0-9_-]{43}", key)
    assert generate_key() != key
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", hash_key(key))


def test_config_key_resolves_to_principal_with_policy():
    keys = Keys()
    identity = resolver(keys).authenticate(keys.marketing)
    principal = identity.principal
    assert (principal.key_name, principal.roles, principal.team, principal.customer) == (
        "marketing-bot", ("marketing",), "marketing", "acme",
    )  # fmt: skip
    assert not principal.is_admin
    assert identity.access.allows(ToolRef("web-search", "search"))
    assert not identity.access.allows(ToolRef("database", "query"))
    denial = identity.access.denial(ToolRef("database", "query"))
    assert denial.status == 403
    assert denial.message == "Tool 'database/query' is not allowed for key 'marketing-bot' (roles: marketing)"


def test_deny_wins_and_team_grants_apply():
    keys = Keys()
    document = seed_document(keys)
    document["teams"]["engineering"] = {
        "customer": "acme",
        "allow": ["cost-tracking/report"],
        "deny": ["database/drop_*"],
    }
    identity = KeyResolver(parse_config(document), MemoryKeyStore()).authenticate(keys.engineering)
    assert identity.access.allows(ToolRef("cost-tracking", "report"))
    assert identity.access.allows(ToolRef("database", "query"))
    assert not identity.access.allows(ToolRef("database", "drop_table"))


def test_unknown_and_malformed_keys_are_refused():
    keys = Keys()
    with pytest.raises(Unauthenticated) as info:
        resolver(keys).authenticate(generate_key())
    assert info.value.headers["WWW-Authenticate"] == 'Bearer realm="mcp-guard", error="invalid_token"'


def test_inactive_and_expired_keys():
    keys = Keys()
    clock = ManualClock(1_790_000_000.0)
    document = seed_document(keys)
    document["keys"][0]["active"] = False
    document["keys"][1]["expires_at"] = "2027-01-15T00:00:00Z"
    resolve = KeyResolver(parse_config(document), MemoryKeyStore(), clock=clock)
    with pytest.raises(NotAllowed, match="Key 'eng-bot' is inactive"):
        resolve.authenticate(keys.engineering)
    resolve.authenticate(keys.marketing)  # before expiry
    clock.now = 1_800_000_000.0  # 2027-01-15T08:00Z
    with pytest.raises(NotAllowed, match=r"Key 'marketing-bot' expired at 2027-01-15T00:00:00\+00:00"):
        resolve.authenticate(keys.marketing)


def test_config_references_are_checked():
    keys = Keys()
    document = seed_document(keys)
    document["keys"][0]["roles"] = ["enginering"]
    with pytest.raises(ConfigError, match="key 'eng-bot' names role 'enginering', which is not under 'roles'"):
        parse_config(document)
    document = seed_document(keys)
    document["keys"][0]["hash"] = "plaintext-key"
    with pytest.raises(ConfigError, match=r"keys\.eng-bot\.hash: .*sha256"):
        parse_config(document)


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
async def test_runtime_keys_are_created_listed_and_deactivated_at_once(tmp_path, store_kind):
    keys = Keys()
    store = MemoryKeyStore() if store_kind == "memory" else SqliteKeyStore(str(tmp_path / "keys.db"))
    resolve = resolver(keys, store=store)
    admin = KeyAdmin(resolve)
    key, record = await admin.create(NewKey(name="ci-bot", roles=["engineering"], team="engineering"))
    assert key.startswith("mcpg_") and record.key_hash == hash_key(key)
    assert resolve.authenticate(key).principal.key_name == "ci-bot"
    listed = {k["name"]: k for k in await admin.list()}
    assert listed["ci-bot"]["source"] == "runtime" and listed["eng-bot"]["source"] == "config"
    assert all("hash" not in k and "key_hash" not in k for k in listed.values())
    await admin.deactivate(record.id)
    with pytest.raises(NotAllowed, match="inactive"):
        resolve.authenticate(key)  # the very next request
    with pytest.raises(NotAllowed, match="configuration file"):
        await admin.deactivate("eng-bot")


async def test_runtime_key_store_survives_a_restart(tmp_path):
    keys = Keys()
    path = str(tmp_path / "keys.db")
    key, _ = await KeyAdmin(resolver(keys, store=SqliteKeyStore(path))).create(NewKey(name="a", roles=["finance"]))
    assert resolver(keys, store=SqliteKeyStore(path)).authenticate(key).principal.roles == ("finance",)


async def call(middleware, headers) -> tuple[Recorder, Downstream]:
    recorder = Recorder()
    await middleware(make_scope(headers=headers), no_body, recorder)
    return recorder, middleware.app


@pytest.mark.parametrize(
    ("headers", "status", "detail"),
    [
        ([], 401, "An API key is required"),
        ([("authorization", "Basic abc")], 401, "Authorization must be 'Bearer <key>'"),
        ([("authorization", "Bearer")], 401, "Authorization must be 'Bearer <key>'"),
        ([("authorization", "Bearer mcpg_nope")], 401, "Unknown API key"),
        ([("x-api-key", "a"), ("x-api-key", "b")], 400, "Send one key"),
        ([("x-api-key", "a"), ("x-bf-vk", "a")], 400, "Send one key"),
        ([("authorization", "Bearer a"), ("authorization", "Bearer b")], 400, "Send one key"),
        ([("x-bf-vk", "mcpg_nope"), ("authorization", "Bearer app-token")], 401, "Unknown API key"),
    ],
)
async def test_middleware_refusals(headers, status, detail):
    recorder, downstream = await call(KeyAuthMiddleware(Downstream(), resolver=resolver(Keys())), headers)
    assert recorder.status == status and detail in recorder.json["detail"]
    assert recorder.headers["content-type"] == "application/problem+json"
    if status == 401:
        assert recorder.headers["www-authenticate"].startswith('Bearer realm="mcp-guard"')
    assert downstream.scope is None


@pytest.mark.parametrize("header", ["authorization", "x-api-key", "x-bf-vk"])
async def test_middleware_attaches_principal_user_and_access(header):
    keys = Keys()
    value = f"Bearer {keys.finance}" if header == "authorization" else keys.finance
    middleware = KeyAuthMiddleware(Downstream(), resolver=resolver(keys))
    recorder, downstream = await call(middleware, [(header, value), ("x-mcp-user", "alice"), ("x-mcp-role", "admin")])
    assert recorder.status == 204
    state = RequestState.from_scope(downstream.scope)
    assert state.principal.key_name == "finance-bot"
    assert state.principal.roles == ("finance",)  # a role header claims nothing
    assert state.user == "alice"
    assert state.mcp_user.access_token.client_id == state.principal.key_id
    assert "user" not in downstream.scope  # scope["user"] is the host app's; the router sets it for the SDK
    assert not state.may_see(ToolRef("database", "query"))


async def test_the_sdk_user_is_shared_per_identity_and_follows_key_changes():
    """KeyAuthMiddleware keeps one SDK user per identity: the same key gets the same user, another key
    its own, a changed key (a new identity) a new user, and a deactivated key none at all."""
    keys = Keys()
    resolve = resolver(keys)
    admin = KeyAdmin(resolve)
    key, record = await admin.create(NewKey(name="ci-bot", roles=["engineering"], team="engineering"))
    middleware = KeyAuthMiddleware(Downstream(), resolver=resolve)

    async def user_of(presented: str) -> object:
        recorder, downstream = await call(middleware, [("x-api-key", presented)])
        return RequestState.from_scope(downstream.scope).mcp_user if recorder.status == 204 else recorder.status

    first, again, other = await user_of(key), await user_of(key), await user_of(keys.finance)
    assert first is again and other is not first
    assert first.access_token.client_id == record.id and other.access_token.client_id == "finance-bot"
    await admin.set_budget(record.id, BudgetConfig(limit=5, period="1d"))
    changed = await user_of(key)
    assert changed is not first and changed.access_token.client_id == record.id
    await admin.deactivate(record.id)
    assert await user_of(key) == 403  # at once, whatever the middleware remembers
    assert await user_of(keys.finance) is other
