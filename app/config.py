"""The service's settings, read once from the environment (and a `.env` file)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

DATA_DIR = Path("data")
DEVELOPMENT_SECRET_KEY = "development-only-secret-key-change-me"
# A secret shorter than this is guessable: production refuses it.
MIN_SECRET_LENGTH = 32


class InsecureSettings(RuntimeError):
    """Production settings that would run with a secret everyone knows."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = f"sqlite:///{DATA_DIR / 'hie.db'}"
    # Threads that run sync routes. Fewer threads mean less contention on the
    # GIL and on SQLite's single writer; habit 9 in ARCHITECTURE.md and
    # bench/RESULTS.md have the numbers behind the default.
    threadpool_size: int = 4
    # How long a SQLite writer waits for the write lock before giving up.
    sqlite_busy_timeout_ms: int = 30_000
    db_pool_size: int = 10
    # Whether webhooks may target private or loopback addresses (API.md).
    hie_webhooks_allow_private: bool = False
    # `hie serve` delivers webhooks itself (a thread beside uvicorn): the
    # single-machine default. Set false where `hie worker` runs on its own.
    webhook_worker_in_process: bool = True
    # A delivery is retried with exponential backoff (base doubling up to the
    # cap, with jitter) until this many hours after it was made, then failed.
    webhook_retry_hours: float = 72
    webhook_backoff_seconds: float = 10
    webhook_backoff_max_seconds: float = 3600
    # How long a worker may take to send a delivery before another may (a
    # killed worker's deliveries are retried after it). Above the timeout.
    webhook_lease_seconds: float = 60
    webhook_timeout_seconds: float = 10
    # Deliveries a worker sends at once, and takes in one claim.
    webhook_concurrency: int = 32
    webhook_batch: int = 200
    # How often an idle worker looks for new events.
    webhook_poll_seconds: float = 0.5
    # Delivered and failed deliveries are kept this long for the page.
    webhook_keep_days: int = 30
    log_level: str = "info"
    # One JSON object per line (app/logs.py); "console" reads better in a terminal.
    log_format: Literal["json", "console"] = "json"
    # Signs CSRF tokens and hashes applicants' addresses. Set a long random
    # SECRET_KEY outside development: production refuses to start without one.
    secret_key: str = DEVELOPMENT_SECRET_KEY
    # Who may read /metrics (app/metrics.py): a scraper sending
    # `Authorization: Bearer <METRICS_TOKEN>`, or, with no token set, only
    # callers on the loopback address.
    metrics_token: str | None = None
    session_hours: int = 8
    # Sign-in failures for one email address before each next try must wait.
    sign_in_free_failures: int = 5
    # The largest request body any route reads (413 above it); some take less.
    max_body_bytes: int = 1024 * 1024
    # The bulk import's body (POST /api/v1/import), larger: a partner's whole catalogue.
    import_max_bytes: int = 50 * 1024 * 1024
    # The area the programme serves: a file in app/data/areas/ (its postcode districts).
    programme_area: str = "liverpool_city_region"
    # Applications to join one client address may send in a window, before 429.
    applications_per_address: int = 5
    applications_window_minutes: int = 60
    # How long an application is kept after the decision (the privacy notice says 2 years).
    application_retention_days: int = 730
    # How long a link to set a first password lasts.
    password_link_days: int = 14
    # Idempotency-Key (API.md): how long an answer is kept for replay, and how
    # long a request waits for another with the same key before a 409.
    idempotency_hours: int = 24
    idempotency_wait_seconds: float = 10.0
    # Rate limits (app/rate_limits.py), in the `limits` notation: "600/minute".
    api_rate_limit: str = "600/minute"  # per API key
    sign_in_rate_limit: str = "10/minute"  # failed sign-ins per client address
    # Where the counters live: Redis when REDIS_URL is set, else the database.
    # RATE_LIMIT_STORAGE names any `limits` storage instead ("memory://" is
    # for a single process only, such as the tests' in-process client).
    redis_url: str | None = None
    rate_limit_storage: str | None = None
    rate_limit_prefix: str = "hie"

    @property
    def secure_cookies(self) -> bool:
        """Cookies travel only over HTTPS in production (local development and tests use plain HTTP)."""
        return self.environment == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def check_secrets(self) -> None:
        """In production, refuse secrets left at their development defaults
        or too short to be secret; elsewhere anything goes."""
        if self.environment != "production":
            return
        problems = []
        if self.secret_key == DEVELOPMENT_SECRET_KEY or len(self.secret_key) < MIN_SECRET_LENGTH:
            problems.append(
                f"SECRET_KEY is the development default or shorter than {MIN_SECRET_LENGTH} characters"
            )
        if self.metrics_token is not None and len(self.metrics_token) < MIN_SECRET_LENGTH:
            problems.append(f"METRICS_TOKEN is shorter than {MIN_SECRET_LENGTH} characters")
        if problems:
            raise InsecureSettings(
                "Refusing to start with ENVIRONMENT=production: "
                + "; ".join(problems)
                + ". Set a long random value, for example from "
                '`python -c "import secrets; print(secrets.token_urlsafe(48))"`.'
            )


@lru_cache
def get_settings() -> Settings:
    return Settings()
