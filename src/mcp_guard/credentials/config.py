"""The `credentials:` settings: per server (`servers.<name>.credentials`) and the gateway's (`credentials:`).

credentials:                       # the gateway's
  store: sqlite:///mcp-guard-credentials.db   # default: the key store `auth.store`
  key_env: MCP_GUARD_CREDENTIALS_KEY          # or key_file: a Fernet key (never inline)
  token_exchange: {issuer: ..., token_endpoint: ..., client_id: ..., client_secret_env: ...}
servers:
  - name: github
    transport: http
    url: https://github-mcp.example.com/mcp
    headers: {Authorization: "Bearer ${GITHUB_SERVICE_TOKEN}"}   # the catalog's service credential
    credentials: {mode: stored}    # or token_exchange
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerCredentials(_Model):
    """How one server's calls carry the caller's own credential instead of the server's shared one."""

    mode: Literal["stored", "token_exchange"] = Field(
        description="stored: a token each user links through the admin API; token_exchange: RFC 8693 at the IdP."
    )
    audience: str | None = Field(None, description="token_exchange: the audience asked for (default: the url).")
    scope: str | None = Field(None, description="token_exchange: the scope asked for, if any.")
    idle_seconds: float = Field(300.0, gt=0, description="A principal's upstream session closes after this idle.")
    max_sessions: int = Field(256, gt=0, description="Open per-principal sessions at most (least recent closes).")


class TokenExchangeSettings(_Model):
    """The identity provider's token endpoint and the gateway's client there (RFC 8693)."""

    issuer: str = Field(description="The issuer whose access tokens are exchanged; no other token is sent there.")
    token_endpoint: str = Field(description="That issuer's token endpoint URL.")
    client_id: str = Field(description="The gateway's client id at the IdP.")
    client_secret_env: str | None = Field(None, description="Environment variable holding the client secret.")
    timeout: float = Field(10.0, gt=0, description="Seconds an exchange may take.")


class CredentialSettings(_Model):
    """Where per-user upstream tokens are kept and the key they are encrypted with."""

    store: str | None = Field(
        None, description="memory://, sqlite:///path or postgresql://…; default: the key store `auth.store`."
    )
    key_file: str | None = Field(None, description="File holding the Fernet key (see `docs/oauth.md`).")
    key_env: str | None = Field(None, description="Environment variable holding the Fernet key.")
    token_exchange: TokenExchangeSettings | None = Field(None, description="For servers in token_exchange mode.")

    @model_validator(mode="after")
    def _one_key(self) -> CredentialSettings:
        if self.key_file and self.key_env:
            raise ValueError("give key_file or key_env, not both")
        return self
