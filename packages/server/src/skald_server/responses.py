"""OpenAPI documentation of error answers: every error a route can give is the ``Failure``
envelope (contract §2), documented per status so clients and fuzzers know what to expect."""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec

from .envelope import Failure

_DESCRIPTIONS = {
    400: "INVALID_ARGUMENT or INVALID_URI: a parameter, header or body field is invalid "
    "(details.validation_errors names it)",
    401: "UNAUTHENTICATED: no API key, or an unknown one (api-key mode)",
    403: "FORBIDDEN: the key may not act for the named account or user, or is read-only; in dev "
    "mode, a request from another site or to a Host that is not this loopback server",
    404: "NOT_FOUND: details.type names what is missing (session, archive, file, task)",
    409: "ALREADY_EXISTS, CONFLICT or ABORTED",
    412: "FAILED_PRECONDITION: the target is not in a state that allows this",
    413: "PAYLOAD_TOO_LARGE: the request body is over max_body_bytes (the message says the limit)",
    415: "UNSUPPORTED_MEDIA_TYPE: a request body whose Content-Type is not JSON "
    "(application/json or a +json type)",
    500: "INTERNAL: an unexpected server error (details.request_id)",
    501: "UNIMPLEMENTED: an option this server does not support yet",
    503: "UNAVAILABLE: the store is unavailable",
    504: "DEADLINE_EXCEEDED: waiting for background work timed out",
}

#: What every ``/api/v1`` route can answer: bad input (also a body over the limit, or one that
#: is not JSON), auth, and server-side failures.
API_ERRORS = (400, 401, 403, 413, 415, 500, 503)


def errors(*statuses: int, common: tuple[int, ...] = API_ERRORS) -> dict[int, ResponseSpec]:
    """``responses=`` for a route decorator: the common errors plus the route's own."""
    return {
        status: ResponseSpec(
            data_container=Failure,
            description=_DESCRIPTIONS[status],
            generate_examples=False,
        )
        for status in sorted({*common, *statuses})
    }
