"""Rate-limit counters, for when there is no Redis (app/rate_limits.py)."""

from sqlmodel import Field, SQLModel


class RateLimitCounter(SQLModel, table=True):
    """One fixed window of one limit: how many hits, and when it ends (Unix
    seconds, the `limits` library's own unit)."""

    __tablename__ = "rate_limit_counters"

    key: str = Field(primary_key=True, max_length=255)
    count: int = 0
    expires_at: float = Field(index=True)
