"""WeChat official-account articles (mp.weixin.qq.com/s/...): title, account, date and the
#js_content text. weixin.sogou.com/link?url=... links are followed to the article they lead to.

WeChat answers some fetches with a verification page ("环境异常 ... 完成验证后即可继续访问"):
that is a VerificationPage error, retryable, never taken for an article. Its other message
pages (链接已过期, 该内容已被发布者删除) are ParseErrors that name the message.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone
from urllib.parse import urlsplit

from jiandu.connectors.errors import FetchError, ParseError
from jiandu.connectors.pages import decode_html
from jiandu.connectors.resolvers.base import Context, Resolved, VerificationPage, html_tree, tidy

WECHAT_HEADERS = {"Accept-Language": "zh-CN,zh;q=0.9"}
BLOCK_TAGS = {"p", "section", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote",
              "pre", "table", "tr", "figure", "figcaption", "ul", "ol"}
_JS_STRING = r'\s*=\s*(?:htmlDecode\()?["\']((?:[^"\'\\]|\\.)*)["\']'
_SOGOU_PART = re.compile(r"""url\s*\+=\s*'([^']*)'""")


def is_verification_page(text: str, final_url: str = "") -> bool:
    if "appmsgcaptcha" in final_url or 'id="js_verify"' in text:
        return True
    return "环境异常" in text and ("完成验证" in text or "去验证" in text)


def _js_var(text: str, name: str) -> str | None:
    match = re.search(r"var\s+" + name + _JS_STRING, text)
    if not match:
        return None
    value = match.group(1).encode("utf-8").decode("unicode_escape", errors="ignore")
    try:  # unicode_escape reads bytes as latin-1: put the UTF-8 back together
        value = value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return html.unescape(value).strip() or None


def block_text(element) -> str:
    """The text of an element with a line break after every block, scripts dropped."""
    for junk in element.xpath(".//script|.//style"):
        junk.drop_tree()
    for node in element.iter():
        if not isinstance(node.tag, str):
            continue
        if node.tag == "br" or node.tag in BLOCK_TAGS:
            node.tail = "\n" + (node.tail or "")
    return tidy(element.text_content())


def parse_article(body: bytes, charset: str | None, url: str, final_url: str = "") -> Resolved:
    text = decode_html(body, charset)
    if is_verification_page(text, final_url):
        raise VerificationPage(url, "WeChat answered with its verification page (环境异常), "
                                    "not the article; try again later")
    try:
        tree = html_tree(body, charset)
    except ValueError as exc:
        raise ParseError(url, str(exc)) from exc
    content = tree.xpath('//*[@id="js_content"]')
    if not content:
        message = " ".join(" ".join(tree.xpath('//*[contains(@class,"weui-msg__title")]//text()')).split())
        if message:
            raise ParseError(url, f"WeChat shows a message instead of the article: {message}")
        raise ParseError(url, "no #js_content in the WeChat page")
    article = block_text(content[0])
    if not article:
        raise ParseError(url, "the WeChat article has no text (images or video only)")
    title = (_js_var(text, "msg_title")
             or " ".join(" ".join(tree.xpath('//*[@id="activity-name"]//text()')).split())
             or (tree.xpath('//meta[@property="og:title"]/@content') or [None])[0])
    account = (_js_var(text, "nickname")
               or " ".join(" ".join(tree.xpath('//*[@id="js_name"]//text()')).split()) or None)
    published = None
    stamp = _js_var(text, "ct") or (re.search(r"\bct\s*=\s*\"?(\d{9,11})", text) or [None, None])[1]
    if stamp and stamp.isdigit():
        published = datetime.fromtimestamp(int(stamp), tz=timezone.utc)
    return Resolved(text=article, title=title or None, author=account, date=published,
                    sitename=account, language="zh", origin="wechat",
                    reason="WeChat article: title, account, date and the #js_content text")


def wechat_fetch_url(ctx: Context, url: str) -> str:
    """The article URL with its host swapped for the configured WeChat base."""
    parts = urlsplit(url)
    return f"{ctx.bases.wechat.rstrip('/')}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def resolve_wechat(ctx: Context, url: str) -> Resolved:
    result = ctx.get(wechat_fetch_url(ctx, url), accept="text/html", headers=WECHAT_HEADERS)
    return parse_article(result.body, result.charset, url, result.url)


def sogou_target(body: bytes, charset: str | None, url: str) -> str:
    """The article a Sogou link page sends the browser to: its script builds the URL piece by
    piece (url += '...'), then removes an '@' planted to stop naive scrapers."""
    text = decode_html(body, charset)
    pieces = _SOGOU_PART.findall(text)
    target = "".join(pieces).replace("@", "")
    if not target.startswith(("http://mp.weixin.qq.com/", "https://mp.weixin.qq.com/")):
        if is_verification_page(text) or "antispider" in text:
            raise VerificationPage(url, "Sogou answered with its anti-spider page; try again later")
        raise ParseError(url, "the Sogou link page names no WeChat article")
    return target.replace("http://", "https://", 1)


def resolve_sogou(ctx: Context, url: str) -> Resolved:
    parts = urlsplit(url)
    link = f"{ctx.bases.sogou.rstrip('/')}{parts.path}" + (f"?{parts.query}" if parts.query else "")
    result = ctx.get(link, accept="text/html", headers=WECHAT_HEADERS)
    target = sogou_target(result.body, result.charset, url)
    try:
        resolved = resolve_wechat(ctx, target)
    except FetchError as exc:
        if isinstance(exc, VerificationPage):
            raise
        raise FetchError(url, f"Sogou link to {target}: {exc.reason}") from exc
    resolved.url = target
    return resolved
