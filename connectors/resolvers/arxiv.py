"""arXiv papers: abs, pdf and html links of any version.

Metadata (title, authors, date, abstract) comes from the arXiv API's Atom answer, or from the
abs page's citation_* meta tags when the API cannot be had; the full text comes from the PDF.
The text starts with the abstract, so a summary leads with what the paper finds.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from defusedxml import ElementTree
from jiandu.connectors.errors import FetchError, ParseError
from jiandu.connectors.resolvers.base import Context, Resolved, html_tree, parse_iso, tidy
from jiandu.connectors.resolvers.pdf import describe_pages, fetch_pdf, pdf_text

ATOM = "{http://www.w3.org/2005/Atom}"
ATOM_ACCEPT = "application/atom+xml,application/xml;q=0.9,*/*;q=0.5"


@dataclass
class PaperMeta:
    title: str
    authors: list[str]
    abstract: str
    published: object = None  # datetime | None
    source: str = "the arXiv API"


def parse_api_atom(body: bytes, url: str) -> PaperMeta:
    """The first entry of an arXiv API answer; ParseError when it holds none."""
    try:
        root = ElementTree.fromstring(body)
    except Exception as exc:  # defusedxml raises ParseError and its own forbidden-entity errors
        raise ParseError(url, f"the arXiv API answer is not XML: {exc}") from exc
    entry = root.find(f"{ATOM}entry")
    title = entry.findtext(f"{ATOM}title") if entry is not None else None
    # For an unknown id the API answers one entry titled "Error".
    if entry is None or not title or title.strip() == "Error":
        raise ParseError(url, "the arXiv API knows no such paper")
    authors = [a.findtext(f"{ATOM}name", "").strip() for a in entry.findall(f"{ATOM}author")]
    return PaperMeta(title=" ".join(title.split()),
                     authors=[a for a in authors if a],
                     abstract=" ".join((entry.findtext(f"{ATOM}summary") or "").split()),
                     published=parse_iso(entry.findtext(f"{ATOM}published")))


def parse_abs_page(body: bytes, charset: str | None, url: str) -> PaperMeta:
    """Metadata from an abs page's Highwire citation_* tags (what Google Scholar reads)."""
    try:
        tree = html_tree(body, charset)
    except ValueError as exc:
        raise ParseError(url, str(exc)) from exc
    def meta(name: str) -> list[str]:
        return [m.get("content", "").strip() for m in tree.xpath(f'//meta[@name="{name}"]')]
    titles = meta("citation_title")
    if not titles or not titles[0]:
        raise ParseError(url, "the abs page has no citation_title")
    date = (meta("citation_date") or meta("citation_online_date") or [""])[0].replace("/", "-")
    abstract = (meta("citation_abstract") or [""])[0]
    if not abstract:
        abstract = " ".join(tree.xpath('string(//blockquote[contains(@class,"abstract")])').split())
        abstract = abstract.removeprefix("Abstract:").strip()
    return PaperMeta(title=" ".join(titles[0].split()), authors=[a for a in meta("citation_author") if a],
                     abstract=" ".join(abstract.split()), published=parse_iso(date),
                     source="the abs page")


def resolve_arxiv(ctx: Context, url: str, id: str, version: str = "") -> Resolved:
    versioned = id + version
    base = ctx.bases.arxiv.rstrip("/")
    meta, meta_error = _metadata(ctx, versioned, base)
    body_text, body_note = None, ""
    try:
        pdf_url, pdf_bytes = fetch_pdf(ctx, f"{base}/pdf/{quote(versioned)}")
        doc = ctx.cpu(pdf_text, pdf_bytes, pdf_url, max_pages=ctx.pdf_max_pages)
        body_text, body_note = doc.text, f"full text from the PDF ({describe_pages(doc)})"
    except FetchError as exc:
        if meta is None:
            raise FetchError(url, f"arXiv {versioned}: no metadata ({meta_error.reason}) "
                                  f"and no PDF ({exc.reason})") from exc
        body_note = f"abstract only: the PDF could not be read ({exc.reason})"
    if meta is None:
        meta_note = f"no metadata ({meta_error.reason})"
    else:
        meta_note = f"metadata from {meta.source}"
    parts = []
    if meta is not None and meta.abstract:
        parts.append(f"Abstract\n\n{meta.abstract}")
    if body_text:
        parts.append(body_text)
    return Resolved(text=tidy("\n\n".join(parts)),
                    title=meta.title if meta else None,
                    author=", ".join(meta.authors) if meta and meta.authors else None,
                    date=meta.published if meta else None,
                    language="en", url=f"https://arxiv.org/abs/{versioned}",
                    origin="arxiv", reason=f"arXiv {versioned}: {meta_note}; {body_note}")


def _metadata(ctx: Context, versioned: str, base: str) -> tuple[PaperMeta | None, FetchError | None]:
    api_url = f"{ctx.bases.arxiv_api}?{urlencode({'id_list': versioned, 'max_results': 1})}"
    try:
        result = ctx.get(api_url, accept=ATOM_ACCEPT)
        return parse_api_atom(result.body, api_url), None
    except FetchError as api_error:
        abs_url = f"{base}/abs/{quote(versioned)}"
        try:
            result = ctx.get(abs_url, accept="text/html")
            return parse_abs_page(result.body, result.charset, abs_url), None
        except FetchError as page_error:
            return None, FetchError(abs_url, f"API: {api_error.reason}; abs page: {page_error.reason}")
