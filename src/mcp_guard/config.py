"""The gateway's configuration: one YAML file, validated by pydantic.

Every model forbids unknown fields, so a typo is an error that names the field instead of a setting that
silently does nothing. `load_config` interpolates `${ENV}` (and `${ENV:-default}`) in string values so
secrets stay out of the file, and turns validation errors into a `ConfigError` that names the file, the
field path and what was expected.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .audit.config import AuditSettings
from .auth.config import AuthSettings, CustomerConfig, KeyConfig, RoleConfig, TeamConfig
from .budget.config import BudgetSettings
from .budget.pricing import PricingConfig
from .chat.config import AgentSettings, ConfirmationSettings, LLMSettings, SamplingSettings
from .codemode.settings import CodeModeSettings
from .credentials.config import CredentialSettings, ServerCredentials
from .errors import ConfigError
from .names import SERVER_NAME
from .observability.settings import ObservabilitySettings
from .patterns import ToolPattern
from .ratelimit.config import RateLimitSettings
from .ui.settings import UISettings
from .virtual import RESERVED_NAMES, VirtualServerConfig

Transport = Literal["stdio", "http", "sse", "inprocess"]
SamplingMode = Literal["relay", "auto", "gateway", "refuse"]
GATEWAY_SAMPLES = ("auto", "gateway")  # the modes in which the gateway may answer sampling with its own models


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Model):
    """One upstream MCP server."""

    name: str = Field(description="Unique server name; the `server` part of `server/tool` references.")
    transport: Transport = Field(description="stdio | http (streamable HTTP) | sse (legacy) | inprocess.")
    command: str | None = Field(None, description="stdio: the executable to start.")
    args: list[str] = Field(default_factory=list, description="stdio: its arguments.")
    env: dict[str, str] = Field(
        default_factory=dict,
        description="stdio: the only variables the child gets besides PATH, HOME, USER, LOGNAME, SHELL, TERM.",
    )
    cwd: str | None = Field(None, description="stdio: working directory of the child.")
    url: str | None = Field(None, description="http / sse: the server's endpoint URL.")
    headers: dict[str, str] = Field(default_factory=dict, description="http / sse: headers sent upstream.")
    target: str | None = Field(
        None, description="inprocess: `module:attribute` of an `InProcessServer` (or a list of functions)."
    )
    tools: list[str] | None = Field(
        None, description="Tool names (globs) exposed from this server; omitted = all of them."
    )
    auto_execute: list[str] = Field(
        default_factory=list, description="Tool names (globs) agent mode may run unasked, matched as `server/<name>`."
    )
    confirm: bool | list[str] = Field(
        False,
        description="Tools that need an explicit confirmation (409, then `x-mcp-confirm`): true = all of this "
        "server's, or a list of tool names (globs). Tools with the MCP `destructiveHint` need it anyway.",
    )
    code_mode: bool = Field(
        False, description="Show this server's tools only through Code Mode's meta-tools; direct calls are refused."
    )
    enabled: bool = Field(True, description="A disabled server is never connected.")
    protocol: Literal["auto", "legacy"] = Field(
        "auto", description="auto: try the 2026-07-28 protocol, fall back to the handshake era; legacy: skip the probe."
    )
    connect_timeout: float = Field(10.0, gt=0, description="Seconds to connect and list tools.")
    call_timeout: float = Field(30.0, gt=0, description="Seconds one tool call may take.")
    health_interval: float = Field(10.0, gt=0, description="Seconds between health checks.")
    credentials: ServerCredentials | None = Field(
        None, description="Call this server as each user, with their own credential (docs/oauth.md); omitted = shared."
    )
    sampling: SamplingMode = Field(
        "relay",
        description="Who answers this server's sampling requests: relay = the client whose call caused it; "
        "gateway = the gateway, with a model of `sampling.models` on the caller's budget; auto = the client "
        "if it declared sampling, else the gateway; refuse = nobody (the server is told so).",
    )

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not SERVER_NAME.match(value) or "__" in value:
            raise ValueError("must be 1-48 of A-Z a-z 0-9 _ - (starting with a letter or digit, no '__')")
        return value

    @model_validator(mode="after")
    def _transport_fields(self) -> ServerConfig:
        needed = {"stdio": "command", "http": "url", "sse": "url", "inprocess": "target"}[self.transport]
        if getattr(self, needed) is None:
            raise ValueError(f"transport {self.transport!r} needs {needed!r}")
        return self


_ORIGIN = re.compile(r"^https?://[^/\s*]+$")


class CORSSettings(_Model):
    """CORS for the gateway's own routes, so an MCP client in a browser page on another origin works."""

    allow_origins: list[str] = Field(
        description="Origins (`scheme://host[:port]`) whose pages may call the gateway. They are also accepted by "
        "the MCP endpoint's Origin check (`allowed_origins`)."
    )
    allow_credentials: bool = Field(False, description="Let browsers send cookies and HTTP auth (rarely needed).")
    max_age: int = Field(600, ge=0, description="Seconds a browser may cache a preflight's answer.")

    @field_validator("allow_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not _ORIGIN.match(origin):
                raise ValueError(f"{origin!r} is not an origin like 'https://app.example.com' (no path, no '*')")
        return value


ApiTransport = Literal["http", "sse", "stdio"]


def _remote_transports() -> list[ApiTransport]:
    return ["http", "sse"]


class ServersApiSettings(_Model):
    transports: list[ApiTransport] = Field(
        default_factory=_remote_transports,
        description="Transports `POST /mcp/servers` accepts. A stdio server runs a command on the gateway's "
        "host: add `stdio` only if every admin key may do that. In-process servers come from the file or code.",
    )


class GatewayConfig(_Model):
    """The whole gateway."""

    servers: list[ServerConfig] = Field(default_factory=list, description="Upstream servers, by name.")
    blocked_tools: list[str] = Field(
        default_factory=list, description="Tool patterns nobody may see or call, whatever else allows them."
    )
    max_body_bytes: int = Field(4 * 1024 * 1024, gt=0, description="Largest accepted request body (413 above).")
    gc_freeze: bool = Field(
        False,
        description="After every catalog change, leave the objects alive then out of later garbage collections "
        "(`gc.freeze()`): a full collection, which otherwise scans every tool of a large catalog (tens to "
        "hundreds of ms at 10,000 tools, holding every request), scans only what came since. Process-wide, "
        "so off by default: cyclic garbage among objects alive at a change is never collected after it. For a "
        "gateway process of its own with a large catalog (docs/deployment.md).",
    )
    client_request_timeout: float = Field(
        120.0,
        gt=0,
        allow_inf_nan=False,
        description="Seconds a client has to answer an upstream's elicitation or sampling request relayed to it; "
        "then the upstream is told it was not answered.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "localhost", "[::1]", "127.0.0.1:*", "localhost:*", "[::1]:*"],
        description="Host headers the MCP endpoint accepts (DNS-rebinding protection); ['*'] turns it off.",
    )
    allowed_origins: list[str] = Field(
        default_factory=lambda: [
            "http://127.0.0.1",
            "http://localhost",
            "http://[::1]",
            "http://127.0.0.1:*",
            "http://localhost:*",
            "http://[::1]:*",
        ],
        description="Origin headers the MCP endpoint accepts from browsers.",
    )
    cors: CORSSettings | None = Field(None, description="CORS for the gateway's own routes; off when omitted.")

    roles: dict[str, RoleConfig] = Field(default_factory=dict, description="Role name → the tools it grants.")
    teams: dict[str, TeamConfig] = Field(default_factory=dict, description="Team name → policy and budget.")
    customers: dict[str, CustomerConfig] = Field(default_factory=dict, description="Customer → budget.")
    keys: list[KeyConfig] = Field(default_factory=list, description="Virtual keys defined in this file.")
    auth: AuthSettings = Field(default_factory=AuthSettings, description="Key store and key lookup.")
    servers_store: str | None = Field(
        None,
        description="Where servers added through the admin API are kept and shared with every gateway process "
        "(memory://, sqlite:///path, postgresql://…); default: the key store, `auth.store`.",
    )
    servers_api: ServersApiSettings = Field(
        default_factory=ServersApiSettings, description="What the admin API may add as upstream servers."
    )
    credentials: CredentialSettings = Field(
        default_factory=CredentialSettings, description="Per-user upstream credentials: store and encryption key."
    )
    rate_limits: RateLimitSettings = Field(default_factory=RateLimitSettings, description="Rate limit rules.")
    budgets: BudgetSettings = Field(default_factory=BudgetSettings, description="Where spend is counted.")
    pricing: PricingConfig = Field(default_factory=PricingConfig, description="What a tool call costs.")
    audit: AuditSettings = Field(default_factory=AuditSettings, description="Where audit records go.")
    code_mode: CodeModeSettings = Field(default_factory=CodeModeSettings, description="Code Mode sandbox limits.")
    llm: LLMSettings = Field(default_factory=LLMSettings, description="LLM providers of the chat endpoint.")
    agent: AgentSettings = Field(default_factory=AgentSettings, description="Agent mode of the chat endpoint.")
    confirmations: ConfirmationSettings = Field(
        default_factory=ConfirmationSettings, description="Confirmation of destructive tools."
    )
    sampling: SamplingSettings = Field(
        default_factory=SamplingSettings, description="Models the gateway samples with for `sampling: gateway|auto`."
    )
    observability: ObservabilitySettings = Field(
        default_factory=ObservabilitySettings, description="Health, metrics, traces and per-call logs."
    )
    ui: UISettings = Field(default_factory=UISettings, description="The admin dashboard at `<mount>/ui/`.")
    virtual_servers: dict[str, VirtualServerConfig] = Field(
        default_factory=dict,
        description="Name → a bundle of upstreams and their tools, resources and prompts, served as its own MCP "
        "endpoint at `<mount>/s/<name>` (a filter on top of the key's rights, never a grant).",
    )

    @model_validator(mode="before")
    @classmethod
    def _servers_by_name(cls, data: Any) -> Any:
        return servers_as_list(data)

    @model_validator(mode="after")
    def _unique_servers(self) -> GatewayConfig:
        seen: set[str] = set()
        for server in self.servers:
            if server.name in seen:
                raise ValueError(f"server name {server.name!r} is used twice")
            seen.add(server.name)
        return self

    @model_validator(mode="after")
    def _references_exist(self) -> GatewayConfig:
        """Every role, team and customer a key or team names must be defined."""
        names = [k.name for k in self.keys]
        if len(set(names)) != len(names):
            raise ValueError(f"key names must be unique; repeated: {sorted({n for n in names if names.count(n) > 1})}")
        for key in self.keys:
            check_key_references(self, key.name, key.roles, key.team, key.customer)
        for name, team in self.teams.items():
            if team.customer is not None and team.customer not in self.customers:
                raise ValueError(f"team {name!r} names customer {team.customer!r}, which is not under 'customers'")
        if self.auth.oauth is not None:
            for group, roles in self.auth.oauth.claims.role_map.items():
                for role in roles:
                    if role not in self.roles:
                        raise ValueError(f"auth.oauth.claims.role_map: group {group!r} names role {role!r}, "
                                         "which is not under 'roles'")  # fmt: skip
        login = self.ui.oauth
        if login is not None:
            issuers = [i.issuer for i in self.auth.oauth.issuers] if self.auth.oauth is not None else []
            if login.issuer not in issuers:
                raise ValueError(f"ui.oauth.issuer {login.issuer!r} must be one of auth.oauth.issuers (its tokens "
                                 "are checked as the gateway checks any token)")  # fmt: skip
        return self

    @model_validator(mode="after")
    def _virtual_servers(self) -> GatewayConfig:
        """Each virtual server has a server-like name that no route of the mount has (see `virtual.py`); that
        its servers exist is checked once servers registered in code are known (`virtual.check_servers`)."""
        for name in self.virtual_servers:
            if not SERVER_NAME.match(name):
                raise ValueError(f"virtual server name {name!r} must be 1-48 of A-Z a-z 0-9 _ - (starting with one)")
            if name in RESERVED_NAMES:
                raise ValueError(f"virtual server name {name!r} is taken by the gateway's own routes")
        return self

    @model_validator(mode="after")
    def _sampling_models(self) -> GatewayConfig:
        """A server the gateway may sample for needs a model to sample with, and each named must be served."""
        sampled = [s.name for s in self.servers if s.sampling in GATEWAY_SAMPLES]
        if sampled and not self.sampling.models:
            raise ValueError(f"servers {sampled} let the gateway answer sampling: list its models in sampling.models")
        for model in self.sampling.models:
            try:
                self.llm.resolve(model)
            except ValueError as exc:
                raise ValueError(f"sampling.models: {exc}") from None
        return self

    @field_validator("blocked_tools")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for text in value:
            ToolPattern.parse(text)
        return value

    def server(self, name: str) -> ServerConfig:
        for server in self.servers:
            if server.name == name:
                return server
        raise KeyError(name)


def check_key_references(
    config: GatewayConfig, key: str, roles: list[str] | tuple[str, ...], team: str | None, customer: str | None
) -> None:
    """Raise ValueError naming the first role, team or customer of a key that is not defined."""
    for role in roles:
        if role not in config.roles:
            raise ValueError(f"key {key!r} names role {role!r}, which is not under 'roles'")
    if team is not None and team not in config.teams:
        raise ValueError(f"key {key!r} names team {team!r}, which is not under 'teams'")
    if customer is not None and customer not in config.customers:
        raise ValueError(f"key {key!r} names customer {customer!r}, which is not under 'customers'")


def servers_as_list(data: Any) -> Any:
    """Accept `servers:` as a mapping of name → settings (the readable YAML form) or as a list."""
    if isinstance(data, Mapping) and isinstance(data.get("servers"), Mapping):
        servers = [{"name": name, **(body or {})} for name, body in data["servers"].items()]
        data = {**data, "servers": servers}
    return data


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def interpolate_env(value: Any, environ: Mapping[str, str], path: str = "") -> Any:
    """Replace `${NAME}` / `${NAME:-default}` in every string of a parsed YAML document."""
    if isinstance(value, str):
        return _ENV_REF.sub(lambda m: _env_value(m, environ, path), value)
    if isinstance(value, Mapping):
        return {k: interpolate_env(v, environ, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate_env(v, environ, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def _env_value(match: re.Match[str], environ: Mapping[str, str], path: str) -> str:
    name, default = match.group(1), match.group(2)
    if name in environ:
        return environ[name]
    if default is not None:
        return default
    raise ConfigError(f"{path}: environment variable {name!r} is not set (use ${{{name}:-default}} for a default)")


def parse_config(data: Any, *, source: str = "<config>", environ: Mapping[str, str] | None = None) -> GatewayConfig:
    """Validate an already-parsed document; errors name `source` and the field path."""
    try:
        data = servers_as_list(interpolate_env(data or {}, os.environ if environ is None else environ))
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    try:
        return GatewayConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: invalid configuration\n{_describe(exc, data)}") from None


def load_config(path: str | Path, *, environ: Mapping[str, str] | None = None) -> GatewayConfig:
    """Read, interpolate and validate a YAML configuration file."""
    import yaml  # here, not at the top: a host app that builds its `GatewayConfig` in code never loads it

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(data, source=str(path), environ=environ)


def _describe(exc: ValidationError, data: Any) -> str:
    return "\n".join(f"  {_field_path(err['loc'], data)}: {err['msg']}" for err in exc.errors())


def _field_path(loc: tuple[int | str, ...], data: Any) -> str:
    """`servers.filesystem.command` rather than pydantic's `servers.0.command`."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int) and isinstance(node, list) and item < len(node):
            node = node[item]
            named = node.get("name") if isinstance(node, Mapping) else None
            parts.append(str(named) if named else f"[{item}]")
        else:
            node = node.get(item) if isinstance(node, Mapping) else None
            parts.append(str(item))
    return ".".join(parts) or "(top level)"
