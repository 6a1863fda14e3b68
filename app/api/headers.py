"""Headers single resources carry: ETag always, Location when created."""

from fastapi import Request, Response

from app.services.records import VersionedRecord, etag


def tag(response: Response, record: VersionedRecord) -> None:
    response.headers["ETag"] = etag(record)


def created(request: Request, response: Response, record: VersionedRecord, route: str, **ids: object) -> None:
    tag(response, record)
    response.headers["Location"] = str(request.url_for(route, **ids))


ETAG_HEADER = {"ETag": {"description": "The version to send back in If-Match.", "schema": {"type": "string"}}}
CREATED_HEADERS = {
    **ETAG_HEADER,
    "Location": {"description": "Where the new resource lives.", "schema": {"type": "string"}},
}
