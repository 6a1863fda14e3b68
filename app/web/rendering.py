"""Pages and fragments from one template (habit 7): a GET serves the whole
page, or, for an htmx request, only the named block of the same template.
Every such answer says `Vary: HX-Request` so caches keep the two apart."""

from pathlib import Path
from typing import Any

from fastapi import Request, Response
from jinja2 import ChainableUndefined, ChoiceLoader, Environment, FileSystemLoader, PackageLoader
from jinja2_fragments.fastapi import Jinja2Blocks

from app.web import csrf, vocabulary

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
SERVICE_NAME = "Health Innovation Exchange"
# For an answer holding a secret or someone's details: no cache or history may keep it.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

environment = Environment(
    loader=ChoiceLoader(
        [FileSystemLoader(TEMPLATES_DIR), PackageLoader("nhsuk_frontend_jinja", "templates")]
    ),
    autoescape=True,
    # NHS.UK frontend's macros read optional parameters through chains of attributes.
    undefined=ChainableUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.globals["service_name"] = SERVICE_NAME
environment.filters.update(vocabulary.FILTERS)
templates = Jinja2Blocks(env=environment)


def is_htmx(request: Request) -> bool:
    """An htmx request that wants a fragment; a history restore wants the page."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    fragment: str | list[str] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """The page, or only its `fragment` block when htmx asks for it; a list
    of blocks answers them one after another (a target and its htmx
    out-of-band swaps)."""
    full_context = {
        "signed_in": getattr(request.state, "signed_in", None),
        "csrf_token": csrf.token(request),
        "current_path": request.url.path,
        **(context or {}),
    }
    block = fragment if fragment and is_htmx(request) else None
    blocks = {"block_names": block} if isinstance(block, list) else {"block_name": block}
    response = templates.TemplateResponse(
        request, template, full_context, status_code=status_code, headers=headers, **blocks
    )
    response.headers["Vary"] = "HX-Request"
    return response
