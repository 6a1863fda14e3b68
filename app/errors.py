"""Domain errors: raised by services, turned into problem+json by the API and
into pages by the web front end. Services never raise HTTPException."""

from typing import Any


class DomainError(Exception):
    status: int = 400
    title: str = "Bad request"
    slug: str = "bad-request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class Unauthenticated(DomainError):
    status, title, slug = 401, "Not signed in", "unauthenticated"


class Forbidden(DomainError):
    status, title, slug = 403, "Not allowed", "forbidden"


class NotFound(DomainError):
    status, title, slug = 404, "Not found", "not-found"

    def __init__(self, what: str = "resource") -> None:
        super().__init__(f"No {what} with that id, or you may not see it.")


class Conflict(DomainError):
    status, title, slug = 409, "Conflict", "conflict"


class GateNotMet(Conflict):
    """A move the pipeline's rules refuse; `missing` lists the gate items."""

    title, slug = "Move not allowed", "move-not-allowed"


class PreconditionFailed(DomainError):
    status, title, slug = 412, "Changed since you read it", "precondition-failed"


class PreconditionRequired(DomainError):
    status, title, slug = 428, "If-Match required", "precondition-required"


class TooManyRequests(DomainError):
    """Sent with `Retry-After`: the seconds to wait before trying again."""

    status, title, slug = 429, "Too many requests", "too-many-requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


class FieldError(dict[str, str]):
    """One invalid field: `{"field": "body.name", "message": "..."}`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field=field, message=message)


class ValidationFailed(DomainError):
    status, title, slug = 422, "Invalid input", "validation"

    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        super().__init__(detail or "; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors

    @classmethod
    def field(cls, field: str, message: str) -> "ValidationFailed":
        return cls([FieldError(field, message)])
