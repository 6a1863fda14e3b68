"""Forms on the pages: read the posted fields, validate them with the same
schemas the API uses, and turn errors into plain messages beside each field
in the NHS service manual's words."""

from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from app import nul_characters
from app.errors import ValidationFailed

Model = TypeVar("Model", bound=BaseModel)

MAX_FORM_FIELDS = 200


async def read_form(request: Request) -> FormData:
    """The posted form, read on the event loop so sync routes can use it."""
    form = await request.form(max_fields=MAX_FORM_FIELDS, max_files=0)
    nul_characters.refuse_in_form(form)
    return form


FormDep = Annotated[FormData, Depends(read_form)]


def fields(
    form: FormData, *, lists: tuple[str, ...] = (), blank_is_none: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The form as a dict: checkbox groups in `lists` as lists, empty values
    of `blank_is_none` as None, the CSRF token left out."""
    data: dict[str, Any] = {}
    for key in form:
        if key == "csrf_token":
            continue
        if key in lists:
            data[key] = [v for v in form.getlist(key) if isinstance(v, str) and v]
        else:
            value = form.get(key)
            data[key] = value.strip() if isinstance(value, str) else value
    for key in lists:
        data.setdefault(key, [])
    for key in blank_is_none:
        if data.get(key) == "":
            data[key] = None
    return data


def opened_version(form: Mapping[str, Any]) -> int:
    """The version of the record the form was opened at (its hidden `version`
    field); a missing or mangled one matches no version, so it saves over nothing."""
    value = form.get("version")
    return int(value) if isinstance(value, str) and value.isdigit() else -1


def stripped(form: Mapping[str, Any], key: str) -> str:
    """A text field with its surrounding spaces trimmed; "" when absent."""
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _message(error: Mapping[str, Any], label: str) -> str:
    kind = error["type"]
    if kind == "missing" or (kind == "string_too_short" and not error.get("input")):
        return f"Enter {label}"
    if kind == "string_too_long":
        return f"{label.capitalize()} must be {error['ctx']['max_length']} characters or fewer"
    if kind in ("enum", "literal_error"):
        return f"Select {label}"
    if kind.startswith("url"):
        return f"Enter {label} as a full web address, like https://www.example.org"
    if kind in ("int_parsing", "int_type"):
        return f"{label.capitalize()} must be a whole number"
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"{label.capitalize()} is out of range"
    if kind.startswith("date"):
        return f"{label.capitalize()} must be a real date"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return str(error["msg"])


def errors_from(exc: ValidationError | ValidationFailed, labels: Mapping[str, str]) -> dict[str, str]:
    """{field: message}, one message per field, first error first."""
    errors: dict[str, str] = {}
    if isinstance(exc, ValidationFailed):
        for problem in exc.errors:
            field = problem["field"].removeprefix("body.").split(".")[0] or "form"
            errors.setdefault(field, problem["message"])
        return errors
    for detail in exc.errors():
        loc = [str(part) for part in detail["loc"]]
        field = loc[0] if loc else "form"
        errors.setdefault(field, _message(detail, labels.get(field, field.replace("_", " "))))
    return errors


def validate(
    model: type[Model], data: dict[str, Any], labels: Mapping[str, str]
) -> tuple[Model | None, dict[str, str]]:
    """The model, or None and the messages to show beside each field."""
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        return None, errors_from(exc, labels)


def error_list(errors: Mapping[str, str]) -> list[dict[str, str]]:
    """The NHS error summary's list: each message links to its field."""
    return [{"text": message, "href": f"#{field}"} for field, message in errors.items()]
