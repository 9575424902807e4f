"""GitHub: a repository's README and description (and stars, in the same answer); a link to a
file, issue, pull request or release gets that thing's own text. All through the REST API,
which needs no key for public repositories (60 requests an hour per address)."""

from __future__ import annotations

import base64
import re
from urllib.parse import quote

from jiandu.connectors.errors import FetchError, ParseError
from jiandu.connectors.resolvers.base import Context, Resolved, parse_iso, tidy

API_ACCEPT = "application/vnd.github+json"
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")  # badges and screenshots say nothing
_EMPTY_LINK = re.compile(r"\[\s*\]\([^)]*\)")  # what is left of a linked badge
_TAG = re.compile(r"<[^>]+>")


def markdown_text(markdown: str) -> str:
    """README Markdown as readable text: images and HTML tags dropped, the rest kept."""
    text = _TAG.sub(" ", _EMPTY_LINK.sub("", _IMAGE.sub("", markdown)))
    lines = [line for line in text.splitlines() if line.strip(" []()|-")]
    return tidy("\n".join(lines))


def decode_content(payload: dict, url: str) -> str:
    """The text of a contents-API answer (base64 in JSON)."""
    if payload.get("encoding") != "base64" or "content" not in payload:
        raise ParseError(url, "the GitHub answer holds no file content")
    raw = base64.b64decode(payload["content"])
    if b"\x00" in raw[:8000]:
        raise ParseError(url, "a binary file, not text")
    return raw.decode("utf-8", errors="replace")


def resolve_github(ctx: Context, url: str, owner: str, repo: str, kind: str, **params) -> Resolved:
    api = f"{ctx.bases.github_api.rstrip('/')}/repos/{quote(owner)}/{quote(repo)}"
    if kind in ("issue", "pull"):
        return _issue(ctx, api, owner, repo, params["number"], pull=kind == "pull")
    if kind == "release":
        return _release(ctx, api, owner, repo, params["tag"])
    if kind == "file":
        return _file(ctx, api, owner, repo, params["ref"], params["path"])
    return _repository(ctx, api, owner, repo)


def _repository(ctx: Context, api: str, owner: str, repo: str) -> Resolved:
    info = _json(ctx, api)
    description = (info.get("description") or "").strip()
    try:
        readme = markdown_text(decode_content(_json(ctx, f"{api}/readme"), f"{api}/readme"))
    except FetchError as exc:
        if not description:
            raise
        readme, missing = "", f"; no README ({exc.reason})"
    else:
        missing = ""
    stars = info.get("stargazers_count")
    facts = [f"{info.get('full_name') or f'{owner}/{repo}'}"]
    if isinstance(stars, int):
        facts.append(f"{stars:,} stars")
    if info.get("language"):
        facts.append(str(info["language"]))
    text = tidy("\n\n".join(p for p in (description, " · ".join(facts), readme) if p))
    title = f"{owner}/{repo}" + (f": {description}" if description else "")
    return Resolved(text=text, title=title, author=(info.get("owner") or {}).get("login") or owner,
                    date=parse_iso(info.get("pushed_at") or info.get("created_at")),
                    sitename="GitHub", origin="github",
                    reason=f"GitHub repository: description and README"
                           + (f", {stars:,} stars" if isinstance(stars, int) else "") + missing)


def _issue(ctx: Context, api: str, owner: str, repo: str, number: int, *, pull: bool) -> Resolved:
    info = _json(ctx, f"{api}/{'pulls' if pull else 'issues'}/{number}")
    what = "pull request" if pull or info.get("pull_request") else "issue"
    body = markdown_text(info.get("body") or "")
    title = (info.get("title") or "").strip()
    text = tidy("\n\n".join(p for p in (title, body) if p))
    return Resolved(text=text, title=f"{owner}/{repo}#{number}: {title}",
                    author=(info.get("user") or {}).get("login"),
                    date=parse_iso(info.get("created_at")), sitename="GitHub",
                    origin="github", reason=f"GitHub {what} #{number}: its title and description")


def _release(ctx: Context, api: str, owner: str, repo: str, tag: str) -> Resolved:
    info = _json(ctx, f"{api}/releases/tags/{quote(tag)}")
    name = (info.get("name") or tag).strip()
    text = tidy("\n\n".join(p for p in (name, markdown_text(info.get("body") or "")) if p))
    label = name if tag in name else f"{name} ({tag})"
    return Resolved(text=text, title=f"{owner}/{repo} {label}",
                    author=(info.get("author") or {}).get("login"),
                    date=parse_iso(info.get("published_at") or info.get("created_at")),
                    sitename="GitHub", origin="github",
                    reason=f"GitHub release {tag}: its notes")


def _file(ctx: Context, api: str, owner: str, repo: str, ref: str, path: str) -> Resolved:
    contents_url = f"{api}/contents/{quote(path)}?ref={quote(ref)}"
    raw = decode_content(_json(ctx, contents_url), contents_url)
    text = markdown_text(raw) if path.lower().endswith((".md", ".markdown")) else tidy(raw)
    return Resolved(text=text, title=f"{owner}/{repo}: {path}", author=owner, sitename="GitHub",
                    origin="github", reason=f"GitHub file {path} at {ref}")


def _json(ctx: Context, url: str) -> dict:
    payload = ctx.get_json(url, accept=API_ACCEPT)
    if not isinstance(payload, dict):
        raise ParseError(url, "the GitHub API answered something other than an object")
    return payload
