"""The generic page path: any URL no other route claims. HTML goes to trafilatura (through the
caller's extractor, which may run in a worker process); an answer that turns out to be a PDF
is read as one."""

from __future__ import annotations

from jiandu.connectors.errors import UnsupportedContent
from jiandu.connectors.http import as_local_path
from jiandu.connectors.pages import HTML_TYPES, extract_page, fetch_page
from jiandu.connectors.resolvers.base import Context, PageExtractor, Resolved
from jiandu.connectors.resolvers.pdf import from_pdf_bytes, looks_like_pdf
from jiandu.records import Extracted, PageFetch

PDF_MEDIA = frozenset({"application/pdf", "application/x-pdf"})
PAGE_OR_PDF_ACCEPT = "text/html,application/xhtml+xml;q=0.9,application/pdf;q=0.8,*/*;q=0.5"


def default_extractor(page: PageFetch) -> tuple[Extracted, bytes | None]:
    return extract_page(page), None


def as_resolved(extracted: Extracted) -> Resolved:
    return Resolved(text=extracted.text, title=extracted.title, author=extracted.author,
                    date=extracted.date, sitename=extracted.sitename,
                    language=extracted.language, url=extracted.url)


def resolve_page(ctx: Context, url: str, extract: PageExtractor | None = None
                 ) -> tuple[Resolved, bytes | None]:
    extract = extract or default_extractor
    if as_local_path(url) is not None:  # saved HTML files keep pages.py's rules
        page = fetch_page(ctx.client, url, max_bytes=ctx.max_bytes, allow_private=ctx.allow_private,
                          allow_files=ctx.allow_files, per_host_limit=ctx.per_host_limit)
    else:
        result = ctx.get(url, accept=PAGE_OR_PDF_ACCEPT,
                         content_types=HTML_TYPES | PDF_MEDIA | {""})
        if result.content_type in PDF_MEDIA or looks_like_pdf(result.body):
            return from_pdf_bytes(ctx, result.url, result.body), None
        if not result.content_type and not result.body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            raise UnsupportedContent(url, "(none, and the body is not markup)")
        page = PageFetch(url=result.url, status=result.status,
                         content_type=result.content_type or "text/html",
                         charset=result.charset, body=result.body)
    extracted, signature = extract(page)
    return as_resolved(extracted), signature
