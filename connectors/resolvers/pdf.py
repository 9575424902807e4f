"""PDF documents: the text layer, read with pypdf, within page and size limits.

Any link ending in .pdf, and any answer served as application/pdf, comes here. A scanned PDF
(pages but next to no text) is a clear ParseError: there is nothing to summarise without OCR.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone

from jiandu.connectors.errors import ParseError, UnsupportedContent
from jiandu.connectors.resolvers.base import Context, Resolved, tidy

PDF_TYPES = frozenset({"application/pdf", "application/x-pdf", "application/octet-stream",
                       "binary/octet-stream", ""})
PDF_ACCEPT = "application/pdf,*/*;q=0.5"
MIN_CHARS_PER_PAGE = 25  # below this on average, the pages are images: a scan
_PDF_DATE = re.compile(r"D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?")
logging.getLogger("pypdf").setLevel(logging.ERROR)  # pypdf warns about every odd xref


@dataclass
class PdfText:
    text: str
    pages_read: int
    pages_total: int
    title: str | None = None
    author: str | None = None
    date: datetime | None = None


def looks_like_pdf(body: bytes) -> bool:
    return b"%PDF-" in body[:1024]


def pdf_text(body: bytes, url: str, *, max_pages: int) -> PdfText:
    """The text of the first `max_pages` pages; ParseError if unreadable or scanned."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(body))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ParseError(url, "the PDF is encrypted")
        total = len(reader.pages)
        pages = [reader.pages[i].extract_text() or "" for i in range(min(total, max_pages))]
        info = reader.metadata or {}
    except ParseError:
        raise
    except Exception as exc:  # a broken PDF breaks pypdf in many ways (PdfReadError, KeyError...)
        raise ParseError(url, f"not a readable PDF: {type(exc).__name__}: {exc}") from exc
    if total == 0:
        raise ParseError(url, "the PDF has no pages")
    # NFKC turns the ligatures TeX leaves in the text layer (ﬁ, ﬀ) back into letters.
    text = tidy(unicodedata.normalize("NFKC", "\n\n".join(pages)))
    if len(text) < MIN_CHARS_PER_PAGE * len(pages):
        raise ParseError(url, f"a scanned PDF: {total} page(s) but no text layer to read "
                              f"({len(text)} characters); it would need OCR")
    return PdfText(text=text, pages_read=len(pages), pages_total=total,
                   title=_info(info, "/Title"), author=_info(info, "/Author"),
                   date=_pdf_date(_info(info, "/CreationDate")))


def _info(info, key: str) -> str | None:
    try:
        value = info.get(key)
    except Exception:  # a broken info dictionary is not worth failing the document for
        return None
    value = str(value).strip() if value else ""
    return value or None


def _pdf_date(value: str | None) -> datetime | None:
    match = _PDF_DATE.match(value or "")
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) if g else d for g, d in
                                              zip(match.groups(), (0, 1, 1, 0, 0, 0)))
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:
        return None


def describe_pages(doc: PdfText) -> str:
    if doc.pages_read < doc.pages_total:
        return f"the first {doc.pages_read} of {doc.pages_total} pages"
    return f"{doc.pages_total} page(s)"


def fetch_pdf(ctx: Context, url: str) -> tuple[str, bytes]:
    """Download a PDF (final URL, bytes); UnsupportedContent if the answer is not one."""
    result = ctx.get(url, accept=PDF_ACCEPT, content_types=PDF_TYPES, max_bytes=ctx.pdf_max_bytes)
    if not looks_like_pdf(result.body):
        raise UnsupportedContent(url, result.content_type or "(none, and not a PDF)")
    return result.url, result.body


def resolve_pdf(ctx: Context, url: str) -> Resolved:
    final_url, body = fetch_pdf(ctx, url)
    return from_pdf_bytes(ctx, final_url, body)


def from_pdf_bytes(ctx: Context, url: str, body: bytes) -> Resolved:
    doc = ctx.cpu(pdf_text, body, url, max_pages=ctx.pdf_max_pages)
    return Resolved(text=doc.text, title=doc.title, author=doc.author, date=doc.date,
                    origin="pdf", reason=f"text layer of the PDF, {describe_pages(doc)}")
