"""Posts on X (twitter.com): text, author and date through the public, keyless oEmbed
endpoint (publish.twitter.com/oembed). t.co links are followed to where they lead.

The date comes from the post id itself (ids since late 2010 are "snowflakes" that carry their
millisecond timestamp), else from the date line of the embed.
"""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlencode

from lxml import html as lxml_html

from jiandu.connectors.errors import FetchError, ParseError, UnsupportedContent
from jiandu.connectors.resolvers.base import Context, Resolved, tidy
from jiandu.connectors.resolvers.routes import STATUS_PATH

TWITTER_EPOCH_MS = 1288834974657
FIRST_SNOWFLAKE = 29_700_859_247  # ids below this predate snowflakes and carry no time


def snowflake_time(post_id: str) -> datetime | None:
    number = int(post_id)
    if number < FIRST_SNOWFLAKE:
        return None
    return datetime.fromtimestamp(((number >> 22) + TWITTER_EPOCH_MS) / 1000, tz=timezone.utc)


def parse_oembed(payload: dict, url: str) -> tuple[str, str | None, datetime | None]:
    """(post text, language, date from the embed's date line) of an oEmbed answer."""
    markup = payload.get("html") or ""
    if not markup.strip():
        raise ParseError(url, "the oEmbed answer has no post in it")
    tree = lxml_html.fromstring(markup)
    paragraphs = tree.xpath("//blockquote//p") or tree.xpath("//p")
    if not paragraphs:
        raise ParseError(url, "the oEmbed answer has no post text")
    for br in tree.xpath("//br"):
        br.tail = "\n" + (br.tail or "")
    text = tidy("\n\n".join(p.text_content() for p in paragraphs))
    language = paragraphs[0].get("lang")
    date = None
    links = tree.xpath("//blockquote/a")
    if links:
        try:
            date = datetime.strptime(links[-1].text_content().strip(), "%B %d, %Y").replace(
                tzinfo=timezone.utc)
        except ValueError:
            date = None
    return text, (language if language and language != "und" else None), date


def resolve_x(ctx: Context, url: str, id: str, user: str = "") -> Resolved:
    canonical = f"https://twitter.com/{user or 'i'}/status/{id}"
    oembed_url = f"{ctx.bases.x_oembed}?{urlencode({'url': canonical, 'omit_script': '1', 'dnt': 'true'})}"
    payload = ctx.get_json(oembed_url)
    if not isinstance(payload, dict):
        raise ParseError(oembed_url, "the oEmbed answer is not an object")
    text, language, shown_date = parse_oembed(payload, oembed_url)
    author = payload.get("author_name") or user or None
    handle = (payload.get("author_url") or "").rstrip("/").rsplit("/", 1)[-1] or user
    first_line = text.split("\n", 1)[0]
    title = f"{author}: {first_line[:80]}" + ("…" if len(first_line) > 80 else "")
    return Resolved(text=text, title=title, author=f"{author} (@{handle})" if handle else author,
                    date=snowflake_time(id) or shown_date, sitename="X", language=language,
                    url=f"https://x.com/{handle or 'i'}/status/{id}", origin="x",
                    reason="X post via oEmbed (one post; replies in a thread are not included)")


def tco_target(ctx: Context, url: str, code: str) -> str:
    """Where a t.co link leads. Every hop is fetched through the guarded fetch; an empty set of
    accepted types stops it at the final answer before any body is downloaded."""
    short = f"{ctx.bases.tco.rstrip('/')}/{code}"
    try:
        result = ctx.get(short, content_types=frozenset())
    except UnsupportedContent as exc:
        return exc.url  # the final hop: what we wanted to know
    return result.url  # a 304 or bodiless answer: still the end of the chain


def status_of(final_url: str) -> dict | None:
    """The post a t.co link leads to: host x.com or twitter.com, or any host serving X's
    /NAME/status/ID path (t.co only ever points at X for those)."""
    from urllib.parse import urlsplit

    match = STATUS_PATH.match(urlsplit(final_url).path or "")
    if not match:
        return None
    return {"id": match.group("id"), "user": match.group("user") or ""}


def resolve_tco(ctx: Context, url: str, code: str, resolve_other) -> Resolved:
    target = tco_target(ctx, url, code)
    post = status_of(target)
    if post is not None:
        return resolve_x(ctx, url, **post)
    try:
        return resolve_other(target)
    except FetchError as exc:
        raise FetchError(url, f"t.co link to {target}: {exc.reason}") from exc
