"""The refusal of a call to a per-user server by a caller who has not linked a credential for it."""

from __future__ import annotations

from ..errors import GatewayError


class CredentialRequired(GatewayError):
    status, title, reason = 403, "Upstream credential required", "credential_required"


def link_path(server: str, user: str) -> str:
    """Where the credential is linked, under the gateway's mount (`/mcp` by convention)."""
    return f"/mcp/credentials/{server}/{user}"


def missing(server: str, user: str) -> CredentialRequired:
    return CredentialRequired(
        f"Server '{server}' acts as each user, and no credential for it is linked for '{user}'. Link yours with "
        f'PUT {link_path(server, user)} and the body {{"token": "<your {server} token>"}} (under the gateway\'s '
        "mount), or ask an admin to.",
        extra={"server": server, "user": user, "link": link_path(server, user)},
    )
