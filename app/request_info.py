"""What every front door reads off a request: the service's settings, and
the client's network address."""

from fastapi import Request

from app.config import Settings


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client_address(request: Request) -> str:
    """The caller's address. Behind a proxy, uvicorn's --proxy-headers sets it
    from X-Forwarded-For, for trusted proxies only (--forwarded-allow-ips)."""
    return request.client.host if request.client else "unknown"
