"""Who may use the desk, and proof that a change comes from the desk's own pages.

- On a loopback address the desk is open to this machine; requests must name a loopback host
  (a web page elsewhere cannot reach it through DNS rebinding). On any other address it refuses
  to start without JIANDU_DESK_TOKEN, and then every page asks for it once (a login form), after
  which an HttpOnly cookie carries an HMAC of it; `Authorization: Bearer TOKEN` works too.
- Every change is a POST carrying a CSRF token: a random value signed with the process's secret,
  sent both as a SameSite=Strict cookie and as a hidden form field, which must agree; a request
  that says it comes from another site (Origin, Sec-Fetch-Site) is refused as well.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

CSRF_COOKIE = "jiandu_desk_csrf"
CSRF_FIELD = "csrf"
AUTH_COOKIE = "jiandu_desk_auth"
LOOPBACK_NAMES = ("localhost",)


class DeskRefused(Exception):
    """The desk will not start as asked (a public address without a token)."""


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class DeskSecurity:
    host: str
    token: str | None = None
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def __post_init__(self) -> None:
        if not is_loopback(self.host) and not self.token:
            raise DeskRefused(
                f"the desk listens on {self.host}, which is not a loopback address: set "
                "JIANDU_DESK_TOKEN (a long random value) so that it asks for it, or use "
                "--host 127.0.0.1")

    @property
    def needs_login(self) -> bool:
        return bool(self.token)

    @property
    def loopback_only(self) -> bool:
        return is_loopback(self.host)

    def host_allowed(self, host_header: str | None) -> bool:
        """On loopback, only requests addressed to a loopback name (no DNS rebinding)."""
        if not self.loopback_only:
            return True
        if not host_header:
            return False
        host = urlsplit(f"//{host_header}").hostname or ""
        return is_loopback(host)

    # Login -------------------------------------------------------------------------------

    def _sign(self, value: str) -> str:
        return hmac.new(self.secret, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def auth_cookie_value(self) -> str:
        return self._sign("auth:" + (self.token or ""))

    def token_matches(self, given: str | None) -> bool:
        return bool(self.token) and given is not None and hmac.compare_digest(
            given.encode("utf-8"), self.token.encode("utf-8"))

    def authenticated(self, cookies: dict, authorization: str | None) -> bool:
        if not self.needs_login:
            return True
        if authorization and authorization.startswith("Bearer "):
            return self.token_matches(authorization[len("Bearer "):].strip())
        cookie = cookies.get(AUTH_COOKIE)
        return cookie is not None and hmac.compare_digest(cookie, self.auth_cookie_value())

    # CSRF --------------------------------------------------------------------------------

    def new_csrf(self) -> str:
        nonce = secrets.token_urlsafe(18)
        return f"{nonce}.{self._sign('csrf:' + nonce)}"

    def csrf_valid(self, token: str | None) -> bool:
        if not token or "." not in token:
            return False
        nonce, _, signature = token.partition(".")
        return hmac.compare_digest(signature, self._sign("csrf:" + nonce))

    def csrf_ok(self, cookie: str | None, submitted: str | None) -> bool:
        return (self.csrf_valid(cookie) and submitted is not None
                and hmac.compare_digest(cookie.encode(), submitted.encode()))


def same_origin(origin: str | None, sec_fetch_site: str | None, host_header: str | None) -> bool:
    """False when the browser says the request comes from another site."""
    if sec_fetch_site and sec_fetch_site not in ("same-origin", "none"):
        return False
    if origin and origin != "null":
        return urlsplit(origin).netloc == (host_header or "")
    return origin != "null"


def safe_next(path: str | None) -> str:
    """Where to go after logging in: a path on this site only."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; img-src 'self' data:; "
                                "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Not "no-referrer": with it, browsers send "Origin: null" on the desk's own forms.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
