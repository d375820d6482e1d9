from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.oauth.gateway import RESOURCE
from tests.oauth.issuers import OpenIDProvider, TestIssuer

# The provider's accounts: `es-client` is the client-credentials client (its tokens are ES256).
ACCOUNTS = {
    "es-client": {"email": "robot@example.com", "groups": ["admin"], "team": "blue"},
    "opaque-client": {"email": "batch@example.com", "groups": ["readers"]},
    "alice": {"email": "alice@example.com", "groups": ["admin"], "team": "blue"},
    "nobody": {"email": "nobody@example.com"},
}


@pytest.fixture(scope="module")
def provider() -> Iterator[OpenIDProvider]:
    """The npm `oidc-provider` issuing tokens for the ASGI test gateway's resource URL."""
    with OpenIDProvider(RESOURCE, ACCOUNTS) as running:
        yield running


@pytest.fixture
async def issuer() -> AsyncIterator[TestIssuer]:
    async with TestIssuer().running() as running:
        yield running
