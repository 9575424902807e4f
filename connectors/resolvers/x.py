"""Posts on X (twitter.com): text, author and date through the public, keyless oEmbed
endpoint (publish.twitter.com/oembed); the author's earlier posts of the same thread through the
keyless FxTwitter API (api.fxtwitter.com), which says what each post replies to. t.co links
are followed to where they lead.

The date comes from the post id itself (ids since late 2010 are "snowflakes" that carry their
millisecond timestamp), else from the date line of the embed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlencode

from lxml import html as lxml_html

from jiandu.connectors.errors import FetchError, ParseError, UnsupportedContent
from jiandu.connectors.resolvers.base import Context, Resolved, tidy
from jiandu.connectors.resolvers.routes import STATUS_PATH

TWITTER_EPOCH_MS = 1288834974657
FIRST_SNOWFLAKE = 29_700_859_247  # ids below this predate snowflakes and carry no time
MAX_THREAD_POSTS = 25


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


@dataclass
class Post:
    id: str
    handle: str
    author: str | None
    text: str
    language: str | None = None
    date: datetime | None = None
    reply_to_handle: str | None = None
    reply_to_id: str | None = None


def post_from_oembed(ctx: Context, id: str, user: str) -> Post:
    canonical = f"https://twitter.com/{user or 'i'}/status/{id}"
    oembed_url = f"{ctx.bases.x_oembed}?{urlencode({'url': canonical, 'omit_script': '1', 'dnt': 'true'})}"
    payload = ctx.get_json(oembed_url)
    if not isinstance(payload, dict):
        raise ParseError(oembed_url, "the oEmbed answer is not an object")
    text, language, shown_date = parse_oembed(payload, oembed_url)
    handle = (payload.get("author_url") or "").rstrip("/").rsplit("/", 1)[-1] or user
    return Post(id=id, handle=handle, author=payload.get("author_name") or user or None,
                text=text, language=language, date=snowflake_time(id) or shown_date)


def post_from_mirror(ctx: Context, id: str, user: str) -> Post:
    """One post from the FxTwitter API (keyless), which also says what it replies to."""
    api_url = f"{ctx.bases.x_thread_api.rstrip('/')}/{user or 'i'}/status/{id}"
    payload = ctx.get_json(api_url)
    tweet = payload.get("tweet") if isinstance(payload, dict) else None
    if not isinstance(tweet, dict) or not str(tweet.get("text") or "").strip():
        raise ParseError(api_url, "the FxTwitter answer holds no post")
    author = tweet.get("author") or {}
    stamp = tweet.get("created_timestamp")
    date = snowflake_time(id) or (datetime.fromtimestamp(stamp, tz=timezone.utc)
                                  if isinstance(stamp, (int, float)) else None)
    return Post(id=id, handle=author.get("screen_name") or user, author=author.get("name"),
                text=tidy(str(tweet["text"])), language=tweet.get("lang") or None, date=date,
                reply_to_handle=tweet.get("replying_to"),
                reply_to_id=str(tweet["replying_to_status"]) if tweet.get("replying_to_status") else None)


def earlier_in_thread(ctx: Context, post: Post) -> tuple[list[Post], str]:
    """The posts the author wrote before this one in the same thread, oldest first, and a note
    for the reason. Only the way up can be read without a key: replies below are not."""
    if not ctx.bases.x_thread_api:
        return [], ""
    try:
        current = post_from_mirror(ctx, post.id, post.handle)
        earlier: list[Post] = []
        while (current.reply_to_id and current.reply_to_handle
               and current.reply_to_handle.lower() == post.handle.lower()
               and len(earlier) < MAX_THREAD_POSTS - 1):
            current = post_from_mirror(ctx, current.reply_to_id, post.handle)
            earlier.append(current)
    except FetchError as exc:
        return [], f"; the thread could not be read ({exc.reason})"
    return list(reversed(earlier)), ""


def resolve_x(ctx: Context, url: str, id: str, user: str = "") -> Resolved:
    try:
        post, how = post_from_oembed(ctx, id, user), "oEmbed"
    except FetchError as oembed_error:
        if not ctx.bases.x_thread_api:
            raise
        try:
            post, how = post_from_mirror(ctx, id, user), "the FxTwitter API"
        except FetchError as mirror_error:
            raise FetchError(url, f"oEmbed: {oembed_error.reason}; FxTwitter: "
                                  f"{mirror_error.reason}") from oembed_error
    earlier, note = earlier_in_thread(ctx, post)
    thread = earlier + [post]
    first_line = thread[0].text.split("\n", 1)[0]
    author = post.author or post.handle
    if len(thread) > 1:
        reason = (f"X thread of {len(thread)} posts by @{post.handle} (the linked post via {how}, "
                  "the earlier ones via the FxTwitter API)")
    else:
        reason = f"X post via {how} (no earlier posts of the author's thread){note}"
    return Resolved(text=tidy("\n\n".join(p.text for p in thread)),
                    title=f"{author}: {first_line[:80]}" + ("…" if len(first_line) > 80 else ""),
                    author=f"{author} (@{post.handle})" if post.handle else author,
                    date=thread[0].date or post.date, sitename="X", language=post.language,
                    url=f"https://x.com/{post.handle or 'i'}/status/{id}", origin="x", reason=reason)


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
