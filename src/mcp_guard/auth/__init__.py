"""Who is calling: virtual keys and the principal they resolve to."""

from .principal import Principal

__all__ = ["Principal"]
