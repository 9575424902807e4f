"""Resolvers: between "a URL" and "an article text", chosen by URL.

    resolved, signature = resolve(ctx, url, extract)

`routes.route_for(url)` picks the route (pure); each route is a module here with the contract of
pages.py: URL in; text, title, author, date, origin and reason out (`Resolved`); a FetchError
naming the URL and the reason on failure. Routes and what they read:

    arxiv        arXiv abs/pdf/html, any version: API Atom (or abs page) + the PDF's text
    pdf          any .pdf link, and any answer served as a PDF on the page path
    github       repository README + description + stars; file, issue, PR, release texts
    huggingface  model, dataset and space cards
    youtube      watch/shorts/youtu.be: title, channel, date, description, transcript
    x            x.com/twitter.com posts (and t.co links to them) through oEmbed
    wechat       mp.weixin.qq.com/s/... articles; weixin.sogou.com links lead to them
    not-story    profile, channel, home and search pages: skipped with the reason
    page         everything else: trafilatura on the page (the path jiandu always had)

GitHub and Hugging Face fall back to the page path when their API cannot be had.
"""

from __future__ import annotations

from jiandu.connectors.errors import FetchError
from jiandu.connectors.resolvers.arxiv import resolve_arxiv
from jiandu.connectors.resolvers.base import (
    Context,
    NotAStory,
    PageExtractor,
    Resolved,
    RouteBases,
    VerificationPage,
)
from jiandu.connectors.resolvers.github import resolve_github
from jiandu.connectors.resolvers.huggingface import resolve_huggingface
from jiandu.connectors.resolvers.page import resolve_page
from jiandu.connectors.resolvers.pdf import resolve_pdf
from jiandu.connectors.resolvers.profiles import resolve_not_story
from jiandu.connectors.resolvers.routes import Route, route_for
from jiandu.connectors.resolvers.wechat import resolve_sogou, resolve_wechat
from jiandu.connectors.resolvers.x import resolve_tco, resolve_x
from jiandu.connectors.resolvers.youtube import resolve_youtube

__all__ = ["Context", "NotAStory", "Resolved", "Route", "RouteBases", "VerificationPage",
           "resolve", "route_for"]

# Registered by hand: route name -> resolver(ctx, url, **route params).
RESOLVERS = {
    "arxiv": resolve_arxiv,
    "pdf": resolve_pdf,
    "github": resolve_github,
    "huggingface": resolve_huggingface,
    "youtube": resolve_youtube,
    "x": resolve_x,
    "wechat": resolve_wechat,
    "sogou": resolve_sogou,
    "not-story": resolve_not_story,
}
FALLS_BACK_TO_PAGE = {"github", "huggingface"}


def resolve(ctx: Context, url: str, extract: PageExtractor | None = None
            ) -> tuple[Resolved, bytes | None]:
    """The article text behind `url` and, from the page path, its dedup signature."""
    route = route_for(url)
    if route.name == "page":
        return resolve_page(ctx, url, extract)
    if route.name == "tco":
        def elsewhere(target: str) -> Resolved:
            return resolve(ctx, target, extract)[0]
        return resolve_tco(ctx, url, route.params["code"], elsewhere), None
    try:
        return RESOLVERS[route.name](ctx, url, **route.params), None
    except FetchError as error:
        if route.name not in FALLS_BACK_TO_PAGE:
            raise
        try:
            resolved, signature = resolve_page(ctx, url, extract)
        except FetchError as page_error:
            raise FetchError(url, f"{error.reason}; the page path failed too: "
                                  f"{page_error.reason}") from error
        resolved.reason = f"{resolved.reason} ({route.name} route failed: {error.reason})"
        return resolved, signature
