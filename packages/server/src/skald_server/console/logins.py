"""Console sign-in: an API key exchanged for a session cookie, CSRF tokens, same-origin checks.

The browser never holds the key. Signing in keeps it in this process's memory under a random
token; the cookie carries only the token (HttpOnly, SameSite=Strict, Path=/console, Secure
when the request came over HTTPS). Every request resolves the identity again from the key
with ``auth.identify`` — the API's one authorization rule — so a revoked key signs its
console sessions out at their next click. Sign-ins last ``LOGIN_TTL_SECONDS`` and do not
survive a restart (nor cross replicas: a console behind a load balancer needs sticky
sessions). The workers of one ``skald serve --workers N`` share them (``SharedLogins``): the
file they share holds the key masked with the sign-in's own token, which only the cookie
carries, so the file alone gives no key away.

Every mutating console request must come from a page of this server: its ``Origin`` (or, when
a browser omits it, ``Sec-Fetch-Site``) must be this host, and — once signed in — its form
must carry the login's CSRF token. A cross-site form post is refused (403) before anything
runs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from litestar import Request

from skald_core.errors import ForbiddenError

from ..shared_state import SharedState

COOKIE = "skald_console"
LOGIN_TTL_SECONDS = 8 * 3600
MAX_LOGINS = 10_000


@dataclass(frozen=True, slots=True)
class Login:
    key: str | None  # None: dev mode, no key needed
    csrf: str
    expires: float


class Logins:
    """The signed-in console sessions of this process (token → login)."""

    def __init__(self, ttl: float = LOGIN_TTL_SECONDS) -> None:
        self._ttl = ttl
        self._by_token: dict[str, Login] = {}
        self._lock = threading.Lock()

    def sign_in(self, key: str | None) -> tuple[str, Login]:
        token = secrets.token_urlsafe(32)
        login = Login(key=key, csrf=secrets.token_urlsafe(32), expires=time.time() + self._ttl)
        with self._lock:
            if len(self._by_token) >= MAX_LOGINS:
                self._drop_expired()
            if len(self._by_token) >= MAX_LOGINS:  # still full: the oldest go first
                oldest = sorted(self._by_token, key=lambda t: self._by_token[t].expires)
                for t in oldest[: MAX_LOGINS // 10]:
                    del self._by_token[t]
            self._by_token[token] = login
        return token, login

    def find(self, token: str | None) -> Login | None:
        if not token:
            return None
        with self._lock:
            login = self._by_token.get(token)
            if login is not None and login.expires <= time.time():
                del self._by_token[token]
                return None
            return login

    def sign_out(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._by_token.pop(token, None)

    def _drop_expired(self) -> None:
        now = time.time()
        for t in [t for t, login in self._by_token.items() if login.expires <= now]:
            del self._by_token[t]


def _mask(token: str, data: bytes) -> bytes:
    """``data`` XOR a keystream drawn from ``token`` (HMAC-SHA256 in counter mode): the same
    call unmasks. The token is 32 random bytes, different for every sign-in."""
    stream = b"".join(
        hmac.digest(token.encode(), i.to_bytes(4, "big"), "sha256")
        for i in range(len(data) // 32 + 1)
    )
    return bytes(a ^ b for a, b in zip(data, stream, strict=False))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SharedLogins(Logins):
    """The signed-in console sessions of all the workers of one server (``SharedState``)."""

    def __init__(self, state: SharedState, ttl: float = LOGIN_TTL_SECONDS) -> None:
        super().__init__(ttl)
        self._state = state

    def sign_in(self, key: str | None) -> tuple[str, Login]:
        token = secrets.token_urlsafe(32)
        login = Login(key=key, csrf=secrets.token_urlsafe(32), expires=time.time() + self._ttl)
        masked = None if key is None else _mask(token, key.encode())
        now = time.time()

        def run(conn: Any) -> None:
            conn.execute("DELETE FROM logins WHERE expires <= ?", (now,))
            (count,) = conn.execute("SELECT count(*) FROM logins").fetchone()
            if count >= MAX_LOGINS:  # still full: the oldest go first
                conn.execute(
                    "DELETE FROM logins WHERE token_hash IN (SELECT token_hash FROM logins "
                    "ORDER BY expires LIMIT ?)",
                    (MAX_LOGINS // 10,),
                )
            conn.execute(
                "INSERT INTO logins (token_hash, key, csrf, expires) VALUES (?, ?, ?, ?)",
                (_token_hash(token), masked, login.csrf, login.expires),
            )

        self._state.transaction(run)
        return token, login

    def find(self, token: str | None) -> Login | None:
        if not token:
            return None
        got = self._state.rows(
            "SELECT key, csrf, expires FROM logins WHERE token_hash = ? AND expires > ?",
            (_token_hash(token), time.time()),
        )
        if not got:
            return None
        masked, csrf, expires = got[0]
        key = None if masked is None else _mask(token, masked).decode()
        return Login(key=key, csrf=csrf, expires=expires)

    def sign_out(self, token: str | None) -> None:
        if token:
            self._state.transaction(
                lambda conn: conn.execute(
                    "DELETE FROM logins WHERE token_hash = ?", (_token_hash(token),)
                )
            )


def check_same_origin(request: Request[Any, Any, Any]) -> None:
    """Refuse a mutating request that did not come from a page of this very server."""
    host = request.headers.get("host", "")
    origin = request.headers.get("origin")
    if origin is not None:
        if origin != "null" and urlsplit(origin).netloc == host and host:
            return
        raise ForbiddenError(
            "Cross-site request refused: the console accepts forms from its own pages only",
            {"reason": "cross_site", "origin": origin},
        )
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site in ("same-origin", "none"):
        return
    raise ForbiddenError(
        "Request refused: no Origin header says it came from the console's own pages",
        {"reason": "cross_site"},
    )


def check_csrf(login: Login, sent: str | None) -> None:
    if not sent or not hmac.compare_digest(sent.encode(), login.csrf.encode()):
        raise ForbiddenError(
            "Missing or wrong CSRF token: reload the page and try again",
            {"reason": "csrf"},
        )
