"""What a request must show before the app sees it, so that no web page can drive the server.

* A request body must be declared JSON: ``Content-Type: application/json`` or a ``+json``
  type (``application/merge-patch+json``, ...). A body without a Content-Type, or any other
  declared type (also on a request without a body), is 415 UNSUPPORTED_MEDIA_TYPE. A browser
  sends a cross-site request without asking first (a CORS "simple" request) only as
  ``text/plain``, form-urlencoded or multipart, so no page can POST a body here behind the
  user's back. Requests without a body (GET, DELETE, an empty POST) need no Content-Type.
* In dev mode (no root key: every caller is root) also, with 403 FORBIDDEN:

  - the ``Host`` must be a loopback name or address (``localhost``, ``127.x.x.x``, ``[::1]``)
    on the port the server is bound to. A page that points its own DNS name at 127.0.0.1 (DNS
    rebinding) still sends its own name here, so it can neither act nor read the answers.
  - an ``Origin`` must be this server itself (``http://`` + such a Host), and
    ``Sec-Fetch-Site``, when sent, ``same-origin`` or ``none``: browsers send these on requests
    a page makes, programs (curl, httpx, the SDKs) send neither.

  "The port the server is bound to" and the address it is reached at come from the ASGI scope's
  ``server`` (the listening socket's address under uvicorn; the base URL's host under an
  in-process test transport, which has no socket).

One pass over the headers, comparing bytes; accepted Host/Origin values are remembered per
server address, so a request costs a few microseconds.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from skald_core.errors import ForbiddenError, SkaldError, UnsupportedMediaTypeError

#: ``type/subtype+json`` (RFC 6839) in the token characters of RFC 9110, lower case.
_JSON_SUFFIX_TYPE = re.compile(rb"[!#$%&'*+.^_`|~0-9a-z-]+/[!#$%&'*+.^_`|~0-9a-z-]+\+json")
_SAME_ORIGIN_FETCH = frozenset({b"same-origin", b"none"})
#: Accepted Host / Origin values, per server address; bounded (only accepted values go in).
_ACCEPTED_MAX = 256
_accepted: set[tuple[bytes, Any, bool]] = set()

JSON_TYPES = "application/json or a +json type such as application/merge-patch+json"


def is_json(content_type: bytes) -> bool:
    """``application/json`` or ``*/*+json``, with any parameters (``; charset=utf-8``)."""
    essence = content_type.split(b";", 1)[0].strip().lower()
    return essence == b"application/json" or (
        essence.endswith(b"+json") and _JSON_SUFFIX_TYPE.fullmatch(essence) is not None
    )


def _split_host(value: str) -> tuple[str, int | None] | None:
    """``name[:port]`` or ``[v6][:port]`` → (name, port or None); None when malformed."""
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1 :]
        if not rest:
            return name, None
        if rest[0] != ":":
            return None
        port_text = rest[1:]
        try:
            ipaddress.IPv6Address(name)
        except ValueError:
            return None
    else:
        name, colon, port_text = value.partition(":")
        if not colon:
            return name, None
    if not (port_text.isascii() and port_text.isdigit() and len(port_text) <= 5):
        return None
    return name, int(port_text)


def _is_this_server(host: str, scheme: str, server: Any) -> bool:
    """``host`` (a Host header, or an Origin's host[:port]) names this server by a loopback
    name or address, or by the address the server is reached at, on its port."""
    parsed = _split_host(host)
    if parsed is None:
        return False
    name, port = parsed
    server_host, server_port = server if isinstance(server, (tuple, list)) else (None, None)
    if server_port is not None:
        if port is None:
            port = 443 if scheme in ("https", "wss") else 80
        if port != server_port:
            return False
    name = name.lower()
    if name == "localhost" or (server_host is not None and name == str(server_host).lower()):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _accepts(value: bytes, scheme: str, server: Any, *, origin: bool) -> bool:
    key = (value, server, origin)
    if key in _accepted:
        return True
    text = value.decode("latin-1")
    if origin:
        prefix = scheme + "://"
        ok = text.startswith(prefix) and _is_this_server(text[len(prefix) :], scheme, server)
    else:
        ok = _is_this_server(text, scheme, server)
    if ok and len(_accepted) < _ACCEPTED_MAX:
        _accepted.add(key)
    return ok


_WHY = (
    "Without a root API key every caller is root, so only programs on this machine may call "
    "the server, not web pages; run with --root-api-key (and --cors-origins for pages you trust)"
)


def _foreign(what: str, value: bytes) -> ForbiddenError:
    text = value.decode("latin-1")
    if what == "host":
        said, reason = (
            f"Host {text!r} is not a loopback name or address of this server",
            "foreign_host",
        )
    elif what == "origin":
        said, reason = f"a request from the web page at {text!r}", "cross_site"
    else:
        said, reason = f"a request a web page made (Sec-Fetch-Site: {text})", "cross_site"
    return ForbiddenError(f"Refused in dev mode: {said}. {_WHY}", {"reason": reason, what: text})


#: The web console's routes: its forms post URL-encoded bodies, which its own routes accept
#: only from its own pages with the sign-in's CSRF token (``skald_server.console.logins``).
CONSOLE_PREFIX = "/console/"
FORM = b"application/x-www-form-urlencoded"


def refusal(scope: Any, dev_mode: bool) -> SkaldError | None:
    """Why this HTTP request must not reach the app, or None."""
    forms = str(scope.get("path", "")).startswith(CONSOLE_PREFIX)
    has_body = False
    content_types: list[bytes] = []
    host: bytes | None = None
    scheme: str = scope.get("scheme", "http")
    server = scope.get("server")
    if isinstance(server, list):
        server = tuple(server)
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_types.append(value)
        elif name == b"content-length":
            has_body = has_body or value.strip(b"0 \t") != b""
        elif name == b"transfer-encoding":
            has_body = True
        elif dev_mode:
            if name == b"host":
                if host is not None or not _accepts(value, scheme, server, origin=False):
                    return _foreign("host", value)
                host = value
            elif name == b"origin":
                if not _accepts(value, scheme, server, origin=True):
                    return _foreign("origin", value)
            elif name == b"sec-fetch-site" and value.strip().lower() not in _SAME_ORIGIN_FETCH:
                return _foreign("sec_fetch_site", value)
    if dev_mode and host is None:
        return ForbiddenError(
            f"Refused in dev mode: the request has no Host header. {_WHY}",
            {"reason": "foreign_host", "host": None},
        )
    for value in content_types:
        if forms and value.split(b";", 1)[0].strip().lower() == FORM:
            continue
        if not is_json(value):
            text = value.decode("latin-1")
            return UnsupportedMediaTypeError(
                f"Unsupported Content-Type {text!r}: send request bodies as JSON ({JSON_TYPES})",
                {"content_type": text},
            )
    if has_body and not content_types:
        return UnsupportedMediaTypeError(
            f"Missing Content-Type: send request bodies as JSON ({JSON_TYPES})",
            {"content_type": None},
        )
    return None
