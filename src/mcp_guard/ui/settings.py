"""The dashboard's configuration (`ui:` in the YAML file)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class UISettings(BaseModel):
    """The admin dashboard at `<mount>/ui/`. Only admin keys can log in; a session lives in this process's
    memory (a gateway behind a load balancer needs sticky sessions for the dashboard, nothing else)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="Serve the dashboard; false answers 404 under `/ui`.")
    idle_minutes: float = Field(30, gt=0, description="A session unused this long ends (log in again).")
    max_hours: float = Field(8, gt=0, description="A session ends this long after login, used or not.")
    max_sessions: int = Field(1000, gt=0, description="Sessions kept at once; the oldest ends beyond this.")
