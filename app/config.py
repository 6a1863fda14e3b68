"""The service's settings, read once from the environment (and a `.env` file)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

DATA_DIR = Path("data")


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
    log_level: str = "info"
    # Signs CSRF tokens. Set a long random SECRET_KEY outside development.
    secret_key: str = "development-only-secret-key-change-me"
    session_hours: int = 8
    # Sign-in failures for one email address before each next try must wait.
    sign_in_free_failures: int = 5

    @property
    def secure_cookies(self) -> bool:
        """Cookies travel only over HTTPS in production (local development and tests use plain HTTP)."""
        return self.environment == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
