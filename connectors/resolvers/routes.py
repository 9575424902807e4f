"""The route table: which resolver reads a URL. Pure (no I/O), so every link can be checked.

`route_for(url)` answers a `Route`: its name (the resolver to use) and what the URL names
(a paper id, a repository, a video id, ...). Anything not recognised is a "page".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

# New-style (2401.00001, 0704.0001) and old-style (hep-th/9901001, math.GT/0309136) ids.
ARXIV_ID = re.compile(r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?P<version>v\d+)?")
ARXIV_HOSTS = {"arxiv.org", "www.arxiv.org", "export.arxiv.org"}
GITHUB_HOSTS = {"github.com", "www.github.com"}
HF_HOSTS = {"huggingface.co", "www.huggingface.co", "hf.co"}
YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"}
X_HOSTS = {"x.com", "www.x.com", "mobile.x.com", "twitter.com", "www.twitter.com",
           "mobile.twitter.com"}
STATUS_PATH = re.compile(r"^/(?:(?P<user>[A-Za-z0-9_]{1,15})|i(?:/web)?)/status(?:es)?/(?P<id>\d{5,25})")
VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")

# First path segments that are site sections, not accounts.
GITHUB_RESERVED = {"about", "apps", "blog", "collections", "contact", "customer-stories",
                   "enterprise", "events", "explore", "features", "issues", "login",
                   "marketplace", "new", "notifications", "orgs", "pricing", "pulls",
                   "search", "security", "settings", "signup", "sponsors", "site", "team",
                   "topics", "trending"}
HF_SECTIONS = {"blog", "docs", "learn", "pricing", "posts", "tasks", "join", "login",
               "enterprise", "chat", "settings", "organizations", "collections"}
HF_LISTINGS = {"models", "datasets", "spaces"}
X_RESERVED = {"home", "explore", "notifications", "messages", "settings", "login", "i",
              "compose", "tos", "privacy", "logout", "signup"}
PROFILE = "a profile page, not a story"
HOME = "a home page, not a story"
SEARCH = "a search page, not a story"


@dataclass(frozen=True)
class Route:
    name: str  # arxiv, pdf, github, huggingface, youtube, x, tco, wechat, sogou, not-story, page
    params: dict = field(default_factory=dict)


def route_for(url: str) -> Route:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        return Route("page")
    host = (parts.hostname or "").lower()
    path = unquote(parts.path or "/")
    segments = [s for s in path.split("/") if s]
    for match in (_arxiv, _github, _huggingface, _youtube, _x, _wechat):
        route = match(host, path, segments, parts.query)
        if route is not None:
            return route
    if host == "t.co" and len(segments) == 1:
        return Route("tco", {"code": segments[0]})
    if path.lower().endswith(".pdf"):
        return Route("pdf")
    return Route("page")


def not_story(reason: str) -> Route:
    return Route("not-story", {"reason": reason})


def _arxiv(host, path, segments, query):
    if host not in ARXIV_HOSTS:
        return None
    if len(segments) >= 2 and segments[0] in ("abs", "pdf", "html", "format"):
        match = ARXIV_ID.fullmatch("/".join(segments[1:]).removesuffix(".pdf"))
        if match:
            return Route("arxiv", {"id": match.group("id"), "version": match.group("version") or ""})
    if not segments or segments[0] in ("list", "search", "a", "find", "catchup"):
        return not_story(HOME if not segments else SEARCH if segments[0] in ("search", "find")
                         else PROFILE if segments[0] == "a" else HOME)
    return None


def _github(host, path, segments, query):
    if host not in GITHUB_HOSTS:
        return None
    if not segments:
        return not_story(HOME)
    first = segments[0]
    if first == "search" or first == "trending" or first == "topics" or first == "explore":
        return not_story(SEARCH)
    if first == "orgs" and len(segments) >= 2:
        return not_story(PROFILE)
    if first in GITHUB_RESERVED:
        return None
    if len(segments) == 1:
        return not_story(PROFILE)
    owner, repo = first, segments[1].removesuffix(".git")
    rest = segments[2:]
    base = {"owner": owner, "repo": repo}
    if not rest:
        return Route("github", {**base, "kind": "repo"})
    if rest[0] in ("issues", "pull") and len(rest) >= 2 and rest[1].isdigit():
        kind = "issue" if rest[0] == "issues" else "pull"
        return Route("github", {**base, "kind": kind, "number": int(rest[1])})
    if rest[0] == "releases" and len(rest) >= 3 and rest[1] == "tag":
        return Route("github", {**base, "kind": "release", "tag": "/".join(rest[2:])})
    if rest[0] == "blob" and len(rest) >= 3:
        return Route("github", {**base, "kind": "file", "ref": rest[1], "path": "/".join(rest[2:])})
    if rest[0] == "tree" and len(rest) == 2:
        return Route("github", {**base, "kind": "repo"})
    return None  # discussions, wiki, commits...: the page path reads them


def _huggingface(host, path, segments, query):
    if host not in HF_HOSTS:
        return None
    if not segments:
        return not_story(HOME)
    first = segments[0]
    if first == "papers" and len(segments) >= 2:
        match = ARXIV_ID.fullmatch(segments[1])
        if match:
            return Route("arxiv", {"id": match.group("id"), "version": match.group("version") or ""})
        return None
    if first in HF_LISTINGS:
        if len(segments) >= 3:
            kind = first[:-1]  # model / dataset / space
            return Route("huggingface", {"kind": kind, "id": f"{segments[1]}/{segments[2]}"})
        if len(segments) == 2:
            return not_story(PROFILE)  # huggingface.co/datasets/ORG
        return not_story(SEARCH)
    if first in HF_SECTIONS or first == "papers":
        return None
    if len(segments) == 1:
        return not_story(PROFILE)
    return Route("huggingface", {"kind": "model", "id": f"{segments[0]}/{segments[1]}"})


def _youtube(host, path, segments, query):
    if host == "youtu.be":
        if segments and VIDEO_ID.match(segments[0]):
            return Route("youtube", {"id": segments[0]})
        return None
    if host not in YOUTUBE_HOSTS:
        return None
    if not segments:
        return not_story(HOME)
    first = segments[0]
    if first == "watch":
        video = (parse_qs(query).get("v") or [""])[0]
        return Route("youtube", {"id": video}) if VIDEO_ID.match(video) else None
    if first in ("shorts", "live", "embed", "v") and len(segments) >= 2 and VIDEO_ID.match(segments[1]):
        return Route("youtube", {"id": segments[1]})
    if first.startswith("@") or first in ("channel", "c", "user"):
        return not_story(PROFILE)
    if first in ("results", "feed", "hashtag"):
        return not_story(SEARCH)
    return None


def _x(host, path, segments, query):
    if host not in X_HOSTS:
        return None
    match = STATUS_PATH.match(path)
    if match:
        return Route("x", {"id": match.group("id"), "user": match.group("user") or ""})
    mangled = re.search(r"/status(?:es)?/(\d{5,25})", path)  # x.com/NAME/st/NAME/status/ID
    if mangled and segments and re.fullmatch(r"[A-Za-z0-9_]{1,15}", segments[0]):
        return Route("x", {"id": mangled.group(1), "user": segments[0]})
    if not segments or segments[0] == "home":
        return not_story(HOME)
    if segments[0] in ("search", "hashtag", "explore"):
        return not_story(SEARCH)
    if segments[0] in X_RESERVED:
        return None
    if re.fullmatch(r"[A-Za-z0-9_]{1,15}", segments[0]):
        return not_story(PROFILE)  # x.com/NAME and its tabs (with_replies, media, likes)
    return None


def _wechat(host, path, segments, query):
    if host == "mp.weixin.qq.com":
        if segments and segments[0] == "s":
            return Route("wechat")
        if path.startswith("/mp/profile_ext") or path.startswith("/mp/homepage"):
            return not_story(PROFILE)
        return None
    if host == "weixin.sogou.com":
        if segments and segments[0] == "link":
            return Route("sogou")
        if not segments or segments[0] in ("weixin", "weixinwap"):
            return not_story(SEARCH if segments else HOME)
    return None
