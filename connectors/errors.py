"""Why a fetch failed, as a small named tree. Every error names its URL and a human reason.

FetchError(url, reason)   a jiandu.errors.JianduError: the CLI says it in one line
├── NetworkError          could not connect / the connection broke (retry later)
├── Timeout               no complete answer within the deadline (retry later)
├── HTTPStatusError       the server answered 4xx/5xx (.status, .retry_after seconds or None)
├── TooLarge              the decoded body passed the size cap (endless body, gzip bomb)
├── BlockedAddress        non-http(s) scheme, or a host on a loopback / private / link-local /
│                         reserved / metadata address while private hosts are not allowed
├── RedirectLoop          a redirect came back to a URL already visited
├── TooManyRedirects      more hops than allowed
├── UnsupportedContent    not something we read (.content_type: PDF, image, video, ...)
└── ParseError            the bytes are not a feed / no article text could be extracted

`retryable` tells a scheduler whether trying again later can help.
"""

from __future__ import annotations

from jiandu.errors import JianduError


class FetchError(JianduError):
    """Base: fetching or reading `url` failed for `reason`."""

    retryable = False

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(url, reason)
        self.url = url
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.url}: {self.reason}"


class NetworkError(FetchError):
    retryable = True


class Timeout(FetchError):
    retryable = True


class HTTPStatusError(FetchError):
    def __init__(self, url: str, status: int, *, retry_after: float | None = None,
                 reason: str | None = None) -> None:
        detail = reason or f"HTTP {status}"
        if retry_after is not None:
            detail += f" (retry after {retry_after:g} s)"
        super().__init__(url, detail)
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        return self.status in (408, 429) or self.status >= 500


class TooLarge(FetchError):
    def __init__(self, url: str, max_bytes: int) -> None:
        super().__init__(url, f"body larger than {max_bytes:,} bytes, download stopped")
        self.max_bytes = max_bytes


class BlockedAddress(FetchError):
    pass


class RedirectLoop(FetchError):
    pass


class TooManyRedirects(FetchError):
    pass


class UnsupportedContent(FetchError):
    def __init__(self, url: str, content_type: str) -> None:
        super().__init__(url, f"unsupported content type {content_type or '(none)'}")
        self.content_type = content_type


class ParseError(FetchError):
    pass
