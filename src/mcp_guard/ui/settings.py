"""The dashboard's configuration (`ui:` in the YAML file)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DashboardOAuth(BaseModel):
    """Logging in to the dashboard with an identity provider: the dashboard is an OAuth client of `issuer`
    (authorization code with PKCE), and the access token it gets is checked like any token the gateway
    accepts (`auth.oauth`), so the issuer must be one of `auth.oauth.issuers`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str = Field(min_length=1, description="The issuer to log in with; one of `auth.oauth.issuers`.")
    client_id: str = Field(min_length=1, description="The dashboard's client id at the issuer.")
    client_secret: str | None = Field(
        None,
        description="Its secret (use `${ENV}`) for a confidential client (HTTP Basic at the token endpoint); "
        "omitted: a public client, protected by PKCE alone.",
    )
    scopes: list[str] = Field(
        default_factory=lambda: ["openid"],
        description="Scopes asked for; with `openid` the ID token's `nonce` and signature are checked too.",
    )
    label: str | None = Field(None, description="The login button says `Log in with <label>` (default: the issuer).")
    redirect_uri: str | None = Field(
        None,
        description="The callback URL registered at the issuer; default: `<dashboard URL>/oauth/callback`, from "
        "the request's scheme and Host (set it behind a proxy that changes them).",
    )


class UISettings(BaseModel):
    """The admin dashboard at `<mount>/ui/`. Only admins can log in (an admin key, or an admin of the identity
    provider with `oauth`); a session lives in this process's memory (a gateway behind a load balancer needs
    sticky sessions for the dashboard, nothing else)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="Serve the dashboard; false answers 404 under `/ui`.")
    idle_minutes: float = Field(30, gt=0, description="A session unused this long ends (log in again).")
    max_hours: float = Field(8, gt=0, description="A session ends this long after login, used or not.")
    max_sessions: int = Field(1000, gt=0, description="Sessions kept at once; the oldest ends beyond this.")
    oauth: DashboardOAuth | None = Field(
        None, description="Also log in with an identity provider (docs/dashboard.md); the session ends with the token."
    )
