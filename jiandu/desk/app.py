"""The desk as a Starlette app: server-rendered pages (no JavaScript) and one POST per action.

Every action goes through jiandu.stages.review, in a worker thread (it may fetch a page or
ask the model), then redirects (303) back to the page it came from, which shows the draft
rendered again: stats line and 看点 recomputed. Errors an editor can fix come back as the page
with the problem named (status 400); nothing typed is lost.
"""

from __future__ import annotations

import functools
from urllib.parse import parse_qsl, quote
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from jiandu.desk.security import (
    AUTH_COOKIE,
    CSRF_COOKIE,
    CSRF_FIELD,
    SECURITY_HEADERS,
    DeskSecurity,
    safe_next,
    same_origin,
)
from jiandu.errors import JianduError
from jiandu.runtime import Runtime
from jiandu.templates import TEMPLATES_DIR

MAX_FORM_BYTES = 1_000_000  # the desk's largest form (an edit) is a few KB

# Messages after an action, chosen by a fixed code: nothing from the query string is shown.
DONE = {
    "dropped": "Story dropped: it will not be sent.",
    "restored": "Story restored.",
    "edited": "Saved. The model's own summary is kept beside your version.",
    "moved": "Story moved.",
    "highlight": "看点 updated.",
    "resummarised": "Summary re-run.",
    "added": "Story added to the draft.",
    "approved": "Approved and sent.",
    "discarded": "Draft discarded: its stories wait for the next issue.",
    "unchanged": "Nothing changed.",
}


@functools.cache
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR / "desk"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    # An edit's before/after shown as JSON: Chinese as itself, still HTML-safe (tojson).
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    return env


def _css() -> str:
    return (TEMPLATES_DIR / "desk" / "desk.css").read_text(encoding="utf-8")


class Desk:
    """The app's state: the runtime (settings, sessions) and the security settings."""

    def __init__(self, rt: Runtime, security: DeskSecurity):
        self.rt = rt
        self.security = security

    # Rendering ---------------------------------------------------------------------------

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> Response:
        csrf = request.cookies.get(CSRF_COOKIE)
        fresh = not self.security.csrf_valid(csrf)
        if fresh:
            csrf = self.security.new_csrf()
        body = _environment().get_template(template).render(
            csrf=csrf, csrf_field=CSRF_FIELD, publication=self.rt.settings.publication_name,
            sections=list(self.rt.settings.sections), login=self.security.needs_login,
            **context)
        response = HTMLResponse(body, status_code=status)
        if fresh:
            response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/")
        return response

    def error(self, request: Request, message: str, status: int = 400, back: str = "/") -> Response:
        return self.page(request, "error.html.j2", status=status, message=message, back=back)

    # Data --------------------------------------------------------------------------------

    def issues(self) -> list[dict]:
        from jiandu.models import store

        with self.rt.sessions() as session:
            return [{"number": issue.number, "status": issue.status, "date": issue.issue_date,
                     "subject": issue.subject, "stats": issue.stats,
                     "approved_by": issue.approved_by}
                    for issue in reversed(store.list_issues(session))]

    def issue_view(self, number: int) -> dict | None:
        from jiandu.models import pushes, store
        from jiandu.stages.review import draft_view

        with self.rt.sessions() as session:
            issue = store.issue_by_number(session, number)
            if issue is None:
                return None
            view = draft_view(session, self.rt.settings, issue)
            view["deliveries"] = [{"recipient": d.recipient, "status": d.status}
                                  for d in store.deliveries_of(session, issue)]
            # For the editor only (the reader's edition never shows them): pushes by masked
            # target, and the sources that went quiet.
            view["pushes"] = [{"target": p.target, "status": p.status, "error": p.error}
                              for p in pushes.pushes_of(session, issue)]
            view["quiet_sources"] = [
                {"name": s.name or s.url, "url": s.url, "since": f"{s.quiet_since:%Y-%m-%d}"}
                for s in pushes.quiet_sources(session)]
            return view

    def story_view(self, number: int, item_id: int) -> dict | None:
        from jiandu.models import drafts, store
        from jiandu.stages.publish import digest_item
        from jiandu.stages.review import story_view

        with self.rt.sessions() as session:
            issue = store.issue_by_number(session, number)
            if issue is None:
                return None
            story = next((s for s in drafts.stories(session, issue) if s.id == item_id), None)
            if story is None:
                return None
            members = store.story_members(session, [story.id])[story.id]
            view = story_view(story, links=digest_item(story, members).links)  # every source's link
            view["text"] = story.text.content if story.text else ""
            view["text_origin"] = story.text_origin
            view["edits"] = [
                {"editor": e.editor, "action": e.action, "before": e.before, "after": e.after,
                 "at": self.local_time(e.created_at)} for e in drafts.edits_of(session, story.id)]
            view["draft"] = issue.status == drafts.DRAFT
            view["issue_subject"] = issue.subject
            return view

    def local_time(self, moment) -> str:
        if moment is None:
            return ""
        zone = ZoneInfo(self.rt.settings.timezone)
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def editor_of(request: Request, security: DeskSecurity) -> str:
    client = request.client.host if request.client else "unknown"
    return f"desk:{client}"


def create_app(rt: Runtime, security: DeskSecurity) -> Starlette:
    """The desk for one runtime; `security` says who may come in."""
    desk = Desk(rt, security)

    async def index(request: Request) -> Response:
        issues = await run_in_threadpool(desk.issues)
        return desk.page(request, "index.html.j2", issues=issues,
                         drafts=[i for i in issues if i["status"] == "draft"],
                         review_on=rt.settings.review)

    async def issue_page(request: Request) -> Response:
        number = request.path_params["number"]
        view = await run_in_threadpool(desk.issue_view, number)
        if view is None:
            return desk.error(request, f"No issue number {number}.", status=404)
        done = DONE.get(request.query_params.get("done", ""))
        return desk.page(request, "issue.html.j2", issue=view, done=done,
                         mail_to=list(rt.settings.mail_to), smtp=bool(rt.settings.smtp_host))

    async def story_page(request: Request) -> Response:
        number, item_id = request.path_params["number"], request.path_params["item"]
        view = await run_in_threadpool(desk.story_view, number, item_id)
        if view is None:
            return desk.error(request, f"Issue {number} has no story {item_id}.", status=404,
                              back=f"/issues/{number}")
        done = DONE.get(request.query_params.get("done", ""))
        return desk.page(request, "story.html.j2", number=number, story=view, done=done,
                         problems=[], form=None)

    async def confirm_page(request: Request) -> Response:
        number, what = request.path_params["number"], request.path_params["what"]
        if what not in ("approve", "discard"):
            return desk.error(request, "No such page.", status=404)
        view = await run_in_threadpool(desk.issue_view, number)
        if view is None:
            return desk.error(request, f"No issue number {number}.", status=404)
        if what == "discard" and not view["draft"]:
            return desk.error(request, f"Issue {number} is published: only a draft can be discarded.",
                              back=f"/issues/{number}")
        return desk.page(request, "confirm.html.j2", issue=view, what=what,
                         mail_to=list(rt.settings.mail_to), smtp=bool(rt.settings.smtp_host))

    async def action(request: Request) -> Response:
        from jiandu.stages import review

        number = request.path_params["number"]
        name = request.path_params["action"]
        item_id = request.path_params.get("item")
        form = await form_of(request)
        editor = editor_of(request, security)
        back = f"/issues/{number}" + (f"#story-{item_id}" if item_id else "")
        per_story = name in ("drop", "restore", "section", "highlight", "resummarise", "edit")
        if per_story != (item_id is not None):
            return desk.error(request, "No such action.", status=404, back=back)
        try:
            if name == "drop":
                await run_in_threadpool(review.drop, rt, number, [item_id], editor)
                return _redirect(f"/issues/{number}?done=dropped#story-{item_id}")
            if name == "restore":
                await run_in_threadpool(review.restore, rt, number, [item_id], editor)
                return _redirect(f"/issues/{number}?done=restored#story-{item_id}")
            if name == "section":
                result = await run_in_threadpool(review.move_section, rt, number, item_id,
                                                 str(form.get("section", "")), editor)
                return _redirect(f"/issues/{number}?done={'moved' if result.changed else 'unchanged'}#story-{item_id}")
            if name == "highlight":
                value = {"on": True, "off": False, "auto": None}.get(str(form.get("highlight", "")), "bad")
                if value == "bad":
                    return desk.error(request, "highlight must be on, off or auto.", back=back)
                await run_in_threadpool(review.set_highlight, rt, number, item_id, value, editor)
                return _redirect(f"/issues/{number}?done=highlight#story-{item_id}")
            if name == "resummarise":
                await run_in_threadpool(review.resummarise, rt, number, item_id, editor)
                return _redirect(f"/issues/{number}/stories/{item_id}?done=resummarised")
            if name == "edit":
                return await edit(request, number, item_id, form, editor)
            if name == "add":
                result = await run_in_threadpool(review.add_story, rt, number,
                                                 str(form.get("url", "")).strip(), editor)
                return _redirect(f"/issues/{number}?done=added#story-{result.item_id}")
            if name == "approve":
                report = await run_in_threadpool(review.approve, rt, number, editor)
                if report.failed:
                    return desk.error(request, f"Issue {number} is approved; {report.failed} "
                                      f"message(s) were not sent: " + "; ".join(report.errors)
                                      + " Approve again later to retry them.", status=502,
                                      back=f"/issues/{number}")
                return _redirect(f"/issues/{number}?done=approved")
            if name == "discard":
                await run_in_threadpool(review.discard, rt, number, editor)
                return _redirect("/?done=discarded")
        except JianduError as exc:  # ReviewError, a bad URL...: said in one line
            return desk.error(request, str(exc), back=back)
        return desk.error(request, "No such action.", status=404, back=back)

    async def edit(request: Request, number: int, item_id: int, form, editor: str) -> Response:
        from jiandu.stages import review

        fields = {"title": str(form.get("title", "")), "emoji": str(form.get("emoji", "")),
                  "section": str(form.get("section", "")),
                  "bullets": [str(b) for b in form.getlist("bullet")]}
        try:
            result = await run_in_threadpool(review.edit, rt, item_id, fields, editor, number=number)
        except review.ReviewError as exc:
            view = await run_in_threadpool(desk.story_view, number, item_id)
            if view is None:
                return desk.error(request, str(exc), back=f"/issues/{number}")
            return desk.page(request, "story.html.j2", status=400, number=number, story=view,
                             done=None, problems=[str(exc)], form=fields)
        code = "edited" if result.changed else "unchanged"
        return _redirect(f"/issues/{number}/stories/{item_id}?done={code}")

    async def login_page(request: Request) -> Response:
        return desk.page(request, "login.html.j2", next=safe_next(request.query_params.get("next")),
                         failed=False)

    async def login(request: Request) -> Response:
        form = await form_of(request)
        target = safe_next(str(form.get("next", "/")))
        if not security.token_matches(str(form.get("token", ""))):
            return desk.page(request, "login.html.j2", status=403, next=target, failed=True)
        response = _redirect(target)
        response.set_cookie(AUTH_COOKIE, security.auth_cookie_value(), httponly=True,
                            samesite="strict", path="/")
        return response

    async def stylesheet(request: Request) -> Response:
        return Response(_css(), media_type="text/css; charset=utf-8")

    routes = [
        Route("/", index),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/desk.css", stylesheet),
        Route("/issues/{number:int}", issue_page),
        Route("/issues/{number:int}/stories/{item:int}", story_page),
        Route("/issues/{number:int}/{what:str}", confirm_page, methods=["GET"]),
        Route("/issues/{number:int}/stories/{item:int}/{action:str}", action, methods=["POST"]),
        Route("/issues/{number:int}/{action:str}", action, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(_Guard, security=security, desk=desk)
    app.state.desk = desk
    return app


def parse_form(body: bytes) -> FormData:
    """An application/x-www-form-urlencoded body (the only kind the desk's forms send)."""
    return FormData(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


async def form_of(request: Request) -> FormData:
    return parse_form(await request.body())


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


class _Guard:
    """Every request: loopback Host check, login, CSRF on POST, security headers (pure ASGI)."""

    def __init__(self, app, security: DeskSecurity, desk: Desk):
        self.app, self.security, self.desk = app, security, desk

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
            await PlainTextResponse("That form is too large.", 413)(scope, receive, send)
            return
        body = await request.body() if scope["method"] == "POST" else b""
        refusal = await self._refusal(request, body)
        replayed = False

        async def replay():
            # The body was read here; the endpoint reads it again from this replay.
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
            return
        await self.app(scope, replay, send_with_headers)

    async def _refusal(self, request: Request, body: bytes) -> Response | None:
        security = self.security
        if not security.host_allowed(request.headers.get("host")):
            return PlainTextResponse("This desk answers only to 127.0.0.1 or localhost.", 421)
        path = request.url.path
        public = path in ("/login", "/desk.css")
        if not public and not security.authenticated(request.cookies, request.headers.get("authorization")):
            if request.method == "GET":
                return _redirect("/login?next=" + quote(request.url.path, safe="/"))
            return PlainTextResponse("Log in first (JIANDU_DESK_TOKEN).", 401)
        if request.method == "POST":
            if not same_origin(request.headers.get("origin"), request.headers.get("sec-fetch-site"),
                               request.headers.get("host")):
                return PlainTextResponse("Refused: the request comes from another site.", 403)
            form = parse_form(body)
            if not security.csrf_ok(request.cookies.get(CSRF_COOKIE), form.get(CSRF_FIELD)):
                return PlainTextResponse(
                    "Refused: the form's CSRF token is missing or wrong. Reload the page and try again.", 403)
        elif request.method not in ("GET", "HEAD"):
            return PlainTextResponse("Method not allowed.", 405)
        return None

