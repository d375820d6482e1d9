"""Upstream credentials per principal: servers marked `credentials:` are called as the caller, with a
token stored for them (encrypted at rest) or obtained by OAuth token exchange, never the inbound token."""
