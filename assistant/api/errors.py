"""Errors in the OpenAI shape, `{"error": {"message", "type", "param", "code"}}`, and the handlers that send them.

Every failure the API can meet, bad JSON, a wrong field, an unknown route or a bug, ends here as one of
these bodies with a fitting status, so OpenAI clients raise their usual exceptions and the server lives on.
Knows nothing about models or retrieval.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

log = logging.getLogger(__name__)

# The `type` OpenAI uses for each status.
_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}


_CODES = {413: "body_too_large", 404: "not_found", 405: "method_not_allowed"}


class APIError(Exception):
    """Raised by a route to answer with an OpenAI-style error; `param` names the offending field."""

    def __init__(
        self, status: int, message: str, *, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code


def error_body(
    status: int, message: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error_response(
    status: int, message: str, *, param: str | None = None, code: str | None = None
) -> JSONResponse:
    return JSONResponse(error_body(status, message, param=param, code=code), status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(APIError, _api_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


async def _api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, APIError)
    return error_response(error.status, error.message, param=error.param, code=error.code)


async def _invalid_request(request: Request, error: Exception) -> JSONResponse:
    """The first problem pydantic found, as `field: what is wrong`; malformed JSON says so."""
    assert isinstance(error, RequestValidationError)
    problem = error.errors()[0]
    if problem["type"] == "json_invalid":
        return error_response(
            400, f"the request body is not valid JSON ({problem.get('ctx', {}).get('error', problem['msg'])})"
        )
    param = field_name(problem["loc"])
    if problem["type"] == "missing":
        message = f"{param}: this field is required"
    elif param is None:
        message = f"the request body must be a JSON object sent as application/json ({problem['msg']})"
    else:
        message = f"{param}: {problem['msg']}"
    return error_response(400, message, param=param, code=problem["type"])


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    message = error.detail if isinstance(error.detail, str) else str(error.detail)
    if error.status_code == 404:
        message = f"{request.method} {request.url.path}: no such endpoint; see /docs for the API"
    return error_response(error.status_code, message, code=_CODES.get(error.status_code))


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled error in %s %s", request.method, request.url.path)
    return error_response(500, f"internal error ({type(error).__name__}); the server log has the details")


def field_name(location: tuple[Any, ...] | list[Any]) -> str | None:
    """pydantic's location ('body', 'messages', 0, 'role') as the field name `messages.0.role`."""
    parts = [str(part) for part in location if part != "body"]
    # Union members add their type name ("str", "list[str]") to the location; the field is what matters.
    parts = [part for part in parts if not _is_type_name(part)]
    return ".".join(parts) or None


def _is_type_name(part: str) -> bool:
    return part in {"str", "int", "float", "bool"} or part.startswith(
        ("list[", "function-", "json-or-python[")
    )
