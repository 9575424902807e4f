"""`jiandu`: the command line.

Commands that run a pipeline stage (ingest, summarise, publish, run) run it as a Prefect flow;
every other command answers without importing Prefect, so it stays quick.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.text import Text

from jiandu.cli_text import DataTable as Table, plain

from jiandu.errors import InputError, JianduError

app = typer.Typer(
    name="jiandu",
    help=(
        "简读 jiandu: reads your feeds and saved links, summarises each article into three "
        "bullets, and publishes a digest issue.\n\n"
        "Start with `jiandu source add URL`, `jiandu links import FILE`, then `jiandu run`."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
source_app = typer.Typer(help="Feeds to follow: add, list, disable, enable, remove; OPML import and export.",
                         no_args_is_help=True)
links_app = typer.Typer(help="Saved links: URLs, notes, clippings and bookmark exports.", no_args_is_help=True)
items_app = typer.Typer(help="Items: export everything jiandu knows about each one; edit a summary.",
                        no_args_is_help=True)
issue_app = typer.Typer(help="Issues and drafts: list, show, send; review, drop, restore, approve, discard.",
                        no_args_is_help=True)
db_app = typer.Typer(help="The database: schema migrations.", no_args_is_help=True)
site_app = typer.Typer(help="The web archive of issues.", no_args_is_help=True)
app.add_typer(source_app, name="source")
app.add_typer(links_app, name="links")
app.add_typer(items_app, name="items")
app.add_typer(issue_app, name="issue")
app.add_typer(db_app, name="db")
app.add_typer(site_app, name="site")

console = Console()
err = Console(stderr=True)
_debug = False


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        console.print(f"jiandu {version('jiandu')}", highlight=False)
        raise typer.Exit()


@app.callback()
def main_options(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors (also after the command)."),
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_show_version,
                                 help="Print jiandu's version and exit."),
) -> None:
    global _debug
    _debug = _debug or debug


def runtime():
    from jiandu.runtime import open_runtime

    return open_runtime()


def settings():
    from jiandu.settings import get_settings

    return get_settings()


def summary_table(title: str, report: dict) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("what", style="cyan")
    table.add_column("value", justify="right")
    for name, value in report.items():
        if isinstance(value, (list, dict)):
            value = ", ".join(map(str, value)) if isinstance(value, list) else json.dumps(value, ensure_ascii=False)
        table.add_row(name.replace("_", " "), str(value))
    return table


def parse_day(value: Optional[str], option: str) -> Optional[date]:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option}: not a date (YYYY-MM-DD): {value!r}") from None


# Sources ---------------------------------------------------------------------------------------


def check_section(section: Optional[str]) -> Optional[str]:
    if section is None:
        return None
    sections = settings().sections
    if section not in sections:
        raise InputError(f"--section: unknown section {section!r}; configured: {', '.join(sections)}")
    return section


def source_location(value: str) -> str:
    """A feed given as a file path becomes an absolute path; anything else must be a URL."""
    from jiandu.urls import normalize_user_url

    path = Path(value).expanduser()
    if path.exists():
        if not path.is_file():
            raise InputError(f"{value}: not a file")
        return str(path.resolve())
    try:
        return normalize_user_url(value)
    except InputError:
        if "://" in value:
            raise
        raise InputError(f"{value}: no such file (and not a URL)") from None


def store_has_source(rt, url: str) -> bool:
    from jiandu.models import store

    with rt.sessions() as session:
        return any(s.url == url for s in store.list_sources(session))


def rsshub_location(value: str, limit: Optional[int]) -> str:
    from jiandu.connectors.rsshub import parse_source

    if not settings().rsshub_url:
        raise InputError(f"{value}: JIANDU_RSSHUB_URL is not set; set it to your RSSHub server "
                         "(e.g. http://127.0.0.1:1200) to follow rsshub: routes")
    try:
        return parse_source(value, limit=limit)
    except ValueError as exc:
        raise InputError(str(exc)) from None


@source_app.command("add")
def source_add(
    location: str = typer.Argument(..., metavar="URL|PATH", help="Feed URL, or a feed file on disk."),
    name: Optional[str] = typer.Option(None, "--name", help="Display name (default: the feed's title)."),
    section: Optional[str] = typer.Option(None, "--section", help="Section its items go to by default."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1,
                                        help="rsshub: sources: ask RSSHub for at most N entries (its `limit`)."),
    include: list[str] = typer.Option([], "--include", metavar="REGEX",
                                      help="Summarise only items matching this (title, text, URL or author; "
                                           "`title:` etc. for one field). Repeatable."),
    exclude: list[str] = typer.Option([], "--exclude", metavar="REGEX",
                                      help="Never summarise items matching this. Repeatable."),
    min_zi: Optional[int] = typer.Option(None, "--min-zi", min=1, metavar="N",
                                         help="Skip texts shorter than N 字."),
    no_check: bool = typer.Option(False, "--no-check", help="Add it without reading it first."),
) -> None:
    """Follow a feed (RSS, Atom, RDF or JSON Feed), or an RSSHub route: `rsshub:/twitter/user/NAME`
    (resolved against JIANDU_RSSHUB_URL; README "Following accounts through RSSHub"). The feed is
    read first: a page or file that is not a feed is refused."""
    from jiandu.models import store

    url = rsshub_location(location, limit) if location.startswith("rsshub:") else source_location(location)
    if limit is not None and not url.startswith("rsshub:"):
        raise InputError("--limit: only for rsshub: sources (RSSHub applies it)")
    section = check_section(section)
    from jiandu.cli_rules import checked_rules

    include, exclude = checked_rules(include, "--include"), checked_rules(exclude, "--exclude")
    from jiandu.cli_sources import check_new_feed

    rt = runtime()
    warning = None if no_check or store_has_source(rt, url) else check_new_feed(url)
    with rt.sessions.begin() as session:
        source, created = store.add_source(session, kind="feed", url=url, name=name, section=section)
        if created and (include or exclude or min_zi):
            source.include, source.exclude, source.min_zi = include or None, exclude or None, min_zi
        sid = source.id
    console.print(plain(f"{'Added' if created else 'Already following'} source {sid}: {url}"), soft_wrap=True)
    if warning:
        err.print(plain(f"warning: source {sid}: {warning}"), soft_wrap=True)
    if not created and (include or exclude or min_zi):
        console.print(plain(f"Its rules are unchanged: use `jiandu source edit {sid}` to change them."))


# `source list`, `remove`, `disable`, `enable`: jiandu/cli_sources.py


def _when(moment: Optional[datetime]) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


@source_app.command("import-opml")
def source_import_opml(file: Path = typer.Argument(..., help="An OPML file exported by a reader.")) -> None:
    """Follow every feed in an OPML file; categories that match a section become its section."""
    from jiandu.connectors.opml import read_opml
    from jiandu.models import store

    feeds = read_opml(file)
    sections = set(settings().sections)
    rt = runtime()
    added = existing = 0
    problems: list[str] = []
    with rt.sessions.begin() as session:
        for feed in feeds:
            try:
                from jiandu.urls import normalize_user_url

                url = normalize_user_url(feed.url)
            except JianduError as exc:
                problems.append(f"{feed.title or feed.url}: {exc}")
                continue
            section = feed.category if feed.category in sections else None
            _, created = store.add_source(session, kind="feed", url=url, name=feed.title, section=section)
            added += created
            existing += not created
    console.print(summary_table(f"Imported {file}", {"added": added, "already there": existing,
                                                     "not imported": len(problems)}))
    for problem in problems:
        err.print(Text.assemble(("not imported: ", "yellow"), plain(problem)))


@source_app.command("export-opml")
def source_export_opml(file: Path = typer.Argument(..., help="Where to write the OPML file.")) -> None:
    """Write every followed feed to an OPML file."""
    from jiandu.connectors.opml import OpmlFeed, write_opml
    from jiandu.models import store

    rt = runtime()
    with rt.sessions() as session:
        feeds = [OpmlFeed(url=s.url, title=s.name or s.url, category=s.section)
                 for s in store.list_sources(session) if s.kind == "feed"]
    write_opml(feeds, file)
    console.print(plain(f"Wrote {len(feeds)} feeds to {file}"))


# Saved links -----------------------------------------------------------------------------------


@links_app.command("add")
def links_add(
    urls: list[str] = typer.Argument(..., metavar="URL...", help="Links (or saved HTML files) to read."),
    section: Optional[str] = typer.Option(None, "--section", help="Section these items go to by default."),
) -> None:
    """Save links to read in the next run."""
    from jiandu.records import SavedRecord
    from jiandu.urls import item_key
    from jiandu.models import store

    records = []
    for value in urls:
        location = source_location(value)
        records.append(SavedRecord(key=item_key(url=location), url=location))
    rt = runtime()
    with rt.sessions.begin() as session:
        section = check_section(section)
        manual = f"links:manual:{section}" if section else "links:manual"
        source = store.links_source(session, manual, "Links added by hand")
        source.section = section
        new = store.add_saved_records(session, source, records, _now())
    console.print(f"Saved {new} new link(s); {len(records) - new} already known.")


@links_app.command("import")
def links_import(
    files: list[Path] = typer.Argument(..., metavar="FILE...", help=(
        "URL lists, Markdown or Logseq notes, clippings files, browser bookmark exports.")),
    section: Optional[str] = typer.Option(None, "--section", help="Section their items go to by default."),
) -> None:
    """Import saved links and clippings from files (importing the same file twice adds nothing)."""
    from jiandu.connectors.savedlinks import read_saved_file
    from jiandu.models import store

    section = check_section(section)
    parsed = []
    for file in files:
        if not file.is_file():
            raise InputError(f"{file}: no such file")
        parsed.append((file, read_saved_file(file)))
    from jiandu.cli_tables import Column, display_path, emit

    rt = runtime()
    rows = []
    with rt.sessions.begin() as session:
        for file, records in parsed:
            source = store.links_source(session, str(file.resolve()), file.name)
            if section:
                source.section = section
            new = store.add_saved_records(session, source, records, _now())
            rows.append({"file": display_path(file), "new": new, "found": len(records),
                         "note": _import_note(file, records, new)})
    emit(console, rows, [Column("file", "file", fixed=False), Column("new", "new", justify="right"),
                         Column("found", "found", justify="right"), Column("note", "note", fixed=False)],
         "table", title="Imported")


def _import_note(file: Path, records: list, new: int) -> str:
    if not records:
        from jiandu.connectors.savedlinks import detect_format

        kind = detect_format(file.read_text(encoding="utf-8", errors="replace")).value
        return f"nothing to import: no links or clippings in this {kind} file (images are not links)"
    return "already imported" if new == 0 else ""


def _now() -> datetime:
    from jiandu.models.schema import utcnow

    return utcnow()


# Pipeline stages (Prefect flows) ---------------------------------------------------------------


VIA_PREFECT_HELP = ("Run as a Prefect flow even when no Prefect server is running (starts a temporary "
                    "one: slower), so the run shows in Prefect's records.")


def run_flow(name: str, via_prefect: bool = False, **parameters) -> dict:
    """Run a job through Prefect when a server is there to record it (PREFECT_API_URL, or the one
    `jiandu serve` started on this home) or when asked; otherwise in this process, without
    paying 8-14 s for a temporary Prefect server. Either way the stages record the run in
    jiandu's own runs table."""
    from jiandu.cli_progress import make_progress
    from jiandu.progress import set_reporter

    # Fail on bad settings or an unreachable database at once, not after Prefect's start-up
    # and its task retries.
    runtime().close()
    from jiandu.flows import prepare_prefect_environment

    prepare_prefect_environment(settings().home)  # before Prefect is imported
    from jiandu.flows.runner import running_server

    use_prefect = via_prefect or bool(os.environ.get("PREFECT_API_URL")) or running_server() is not None
    with make_progress(err) as reporter:  # a bar on a terminal, plain lines in a log
        set_reporter(reporter)
        try:
            if not use_prefect:
                from jiandu.stages.jobs import JOBS

                return JOBS[name](**parameters)
            from jiandu.flows import pipeline
            from jiandu.flows.runner import quiet_flow_run

            flow = {"ingest": pipeline.ingest_flow, "summarise": pipeline.summarise_flow,
                    "publish": pipeline.publish_flow, "pipeline": pipeline.pipeline_flow}[name]
            return quiet_flow_run(flow, **parameters)
        finally:
            set_reporter(None)


@app.command()
def ingest(
    via_prefect: bool = typer.Option(False, "--via-prefect", help=VIA_PREFECT_HELP),
) -> None:
    """Poll the feeds that are due and fetch the text of every new item."""
    console.print(summary_table("Ingest", run_flow("ingest", via_prefect)))


@app.command()
def summarise(
    via_prefect: bool = typer.Option(False, "--via-prefect", help=VIA_PREFECT_HELP),
) -> None:
    """Summarise every item that has text and no summary yet."""
    from jiandu.cli_attention import show_summarise

    show_summarise(run_flow("summarise", via_prefect))


@app.command()
def publish(
    since: Optional[str] = typer.Option(None, "--since", metavar="DATE", help="First day (YYYY-MM-DD) of a past period to publish."),
    until: Optional[str] = typer.Option(None, "--until", metavar="DATE", help="Last day (YYYY-MM-DD, inclusive)."),
    via_prefect: bool = typer.Option(False, "--via-prefect", help=VIA_PREFECT_HELP),
) -> None:
    """Make the next issue from everything summarised and not yet published (and email it)."""
    report = run_flow("publish", via_prefect, since=parse_day(since, "--since"), until=parse_day(until, "--until"))
    show_publish(report)


@app.command()
def run(
    since: Optional[str] = typer.Option(None, "--since", metavar="DATE", help="Publish only items from this day on."),
    until: Optional[str] = typer.Option(None, "--until", metavar="DATE", help="Publish only items up to this day."),
    via_prefect: bool = typer.Option(False, "--via-prefect", help=VIA_PREFECT_HELP),
) -> None:
    """Ingest, summarise and publish, in order."""
    report = run_flow("pipeline", via_prefect, since=parse_day(since, "--since"), until=parse_day(until, "--until"))
    console.print(summary_table("Ingest", report["ingest"]))
    from jiandu.cli_attention import show_summarise

    show_summarise(report["summarise"])
    show_publish(report["publish"])


def show_publish(report: dict) -> None:
    from jiandu.cli_tables import display_path

    delivery = report.pop("delivery", None) or {}
    pushed = report.pop("push", None) or {}
    console.print(summary_table("Publish", {k: v for k, v in report.items() if k != "files"}))
    if delivery.get("sent") or delivery.get("failed"):
        console.print(summary_table("Email", delivery))
    if pushed.get("pushed") or pushed.get("failed"):
        console.print(summary_table("Push", pushed))
    number = report.get("issue_number")
    if report.get("waiting_draft"):
        console.print(f"Draft {report['waiting_draft']} still waits for review; nothing new was made "
                      f"or sent (jiandu issue review {report['waiting_draft']}).")
    elif number:
        for path in report.get("files", []):
            console.print(plain(f"Issue {number}: {display_path(path)}"), soft_wrap=True)
        if report.get("draft"):
            console.print(f"Issue {number} is a draft: nothing was sent. Review it with "
                          f"`jiandu issue review {number}` or `jiandu desk`, then "
                          f"`jiandu issue approve {number}` sends it.")
    else:
        console.print("Nothing new to publish.")


# Items and issues ------------------------------------------------------------------------------


@items_app.command("export")
def items_export(
    format: str = typer.Option("jsonl", "--format", help="Output format: jsonl (one JSON object per item)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
) -> None:
    """Export every item: source, url, status, error, text, 字 count, summary, tokens, faithfulness."""
    from jiandu.item_export import item_record
    from jiandu.models import store

    if format != "jsonl":
        raise InputError(f"--format: unknown format {format!r}; supported: jsonl")
    rt = runtime()
    stream = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        with rt.sessions() as session:
            for item in store.iter_items(session):
                stream.write(json.dumps(item_record(item), ensure_ascii=False) + "\n")
    finally:
        if output:
            stream.close()


@issue_app.command("list")
def issue_list(
    format: str = typer.Option("table", "--format", metavar="FORMAT",
                               help="table, or json (every field, for scripts)."),
) -> None:
    """Every issue, drafts waiting for review included (status "draft"): stories shown, the items
    they came from, mail sent. --format json adds 字 counts and tokens."""
    from jiandu.cli_tables import Column, check_format, emit
    from jiandu.models import store
    from jiandu.models.schema import DeliveryStatus

    fmt = check_format(format)
    rt = runtime()
    rows = []
    with rt.sessions() as session:
        issues = store.list_issues(session)
        counts = store.issue_counts(session, [issue.id for issue in issues])
        for issue in issues:
            deliveries = store.deliveries_of(session, issue)
            sent = sum(d.status == DeliveryStatus.SENT for d in deliveries)
            stories, items = counts[issue.id]
            rows.append({
                "number": issue.number, "status": issue.status, "date": issue.issue_date,
                "stories": stories, "items": items,
                "source_chars": issue.stats.get("source_chars"), "digest_chars": issue.stats.get("digest_chars"),
                "tokens": issue.stats.get("prompt_tokens", 0) + issue.stats.get("completion_tokens", 0),
                "sent": f"{sent}/{len(deliveries)}" if deliveries else "", "subject": issue.subject,
            })
    columns = [Column("number", "#", justify="right"), Column("status", "status"), Column("date", "date"),
               Column("stories", "stories", justify="right"), Column("items", "items", justify="right"),
               Column("sent", "sent"), Column("subject", "subject", fixed=False)]
    emit(console, rows, columns, fmt, title=f"Issues ({len(rows)})", empty="No issues yet.")


@issue_app.command("show")
def issue_show(
    number: int = typer.Argument(..., help="The issue number."),
    format: str = typer.Option("md", "--format", help="md, html or txt."),
) -> None:
    """Print an issue in one of its editions."""
    from jiandu.models import store

    if format not in ("md", "html", "txt"):
        raise InputError(f"--format: unknown format {format!r}; use md, html or txt")
    rt = runtime()
    with rt.sessions() as session:
        issue = store.issue_by_number(session, number)
        if issue is None:
            raise InputError(f"no issue number {number}")
        body = {"md": issue.markdown, "html": issue.html, "txt": issue.text}[format]
    sys.stdout.write(body)


@issue_app.command("push")
def issue_push(
    number: int = typer.Argument(..., help="The issue number."),
    to: Optional[list[str]] = typer.Option(None, "--to", metavar="URL",
                                           help="Apprise URL (repeatable); default JIANDU_PUSH_URLS."),
    force: bool = typer.Option(False, "--force", help="Push again to targets that already have it."),
) -> None:
    """Push an issue's short message (stats, emoji + titles, archive link) to chats via Apprise;
    targets that already have it are skipped unless --force. Only masked URLs are printed."""
    from jiandu.stages.push import push_pending, queue_issue

    urls = list(to or settings().push_urls)
    if not urls:
        raise InputError("no push targets: give --to URL or set JIANDU_PUSH_URLS")
    rt = runtime()
    queue_issue(rt, number, urls, force=force)
    report = push_pending(rt, urls=urls)
    console.print(summary_table(f"Issue {number}", report.as_dict()))
    if report.failed:
        raise typer.Exit(1)


@issue_app.command("send")
def issue_send(
    number: int = typer.Argument(..., help="The issue number."),
    to: Optional[list[str]] = typer.Option(None, "--to", help="Recipient (repeatable); default JIANDU_MAIL_TO."),
    force: bool = typer.Option(False, "--force", help="Send again to recipients who already have it."),
) -> None:
    """Email an issue by hand (recipients who already have it are skipped unless --force)."""
    from jiandu.stages.deliver import deliver_pending, queue_issue

    s = settings()
    if not s.smtp_host:
        raise InputError("JIANDU_SMTP_HOST is not set: nowhere to send mail")
    recipients = list(to or s.mail_to)
    if not recipients:
        raise InputError("no recipients: give --to or set JIANDU_MAIL_TO")
    rt = runtime()
    queue_issue(rt, number, recipients, force=force)
    report = deliver_pending(rt)
    console.print(summary_table(f"Issue {number}", report.as_dict()))
    if report.failed:
        raise typer.Exit(1)


# Settings and status ---------------------------------------------------------------------------


@app.command()
def config(
    format: str = typer.Option("table", "--format", metavar="FORMAT", help="table, or json (for scripts)."),
) -> None:
    """What will be used, and every setting with where it came from.

    First the decisions (summariser, database, mail, site), then each setting's value (secrets
    masked) and its origin: $VARIABLE, the jiandu.toml file, or default."""
    from jiandu.cli_tables import Column, check_format, emit
    from jiandu.config_view import config_rows
    from jiandu.settings import config_file

    fmt = check_format(format)
    used, rows = config_rows(settings())
    if fmt == "json":
        sys.stdout.write(json.dumps({"in_use": dict(used), "file": str(config_file() or ""),
                                     "settings": rows}, ensure_ascii=False, indent=2) + "\n")
        return
    for what, value in used:
        console.print(f"{what + ':':<18} {value}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"{'settings file:':<18} {config_file() or 'none'}", markup=False, highlight=False,
                  soft_wrap=True)
    console.print()
    for row in rows:
        value = row["value"]
        row["value"] = "" if value is None else value if isinstance(value, str) else json.dumps(
            value, ensure_ascii=False)
    emit(console, rows, [Column("setting", "setting"), Column("value", "value", fixed=False, share=3),
                         Column("from", "from", fixed=False, share=1),
                         Column("note", "note", fixed=False, share=1)], fmt)


@app.command()
def status() -> None:
    """Sources, failures, items waiting, tokens spent this week, and the last issue."""
    from jiandu.status import collect_status

    from jiandu.cli_attention import show_status_attention

    rt = runtime()
    console.print(summary_table("Status", collect_status(rt)))
    show_status_attention(rt)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply schema migrations (SQLite or PostgreSQL, from JIANDU_DATABASE_URL)."""
    rt = runtime()  # opening the runtime migrates
    console.print(f"Database is up to date: {rt.engine.url.render_as_string(hide_password=True)}")


@site_app.command("build")
def site_build(
    out: Path = typer.Argument(..., metavar="DIR", help="Folder to write the site to."),
    url: Optional[str] = typer.Option(None, "--url", metavar="URL",
                                      help="Where the site will be served (default JIANDU_SITE_URL)."),
) -> None:
    """Write a static web archive: an index, a page per issue, and an Atom feed of issues.
    Needs the address it will be served from (JIANDU_SITE_URL or --url) for the feed's links."""
    from jiandu.site_export import export_site

    rt = runtime()
    paths = export_site(rt, out, base_url=url)
    console.print(plain(f"Wrote {len(paths)} files to {out}"))


@app.command()
def serve() -> None:
    """Run the schedules (ingest hourly, publish daily) until Ctrl-C."""
    from jiandu.flows.serve import serve_schedules

    serve_schedules(settings())


from jiandu import cli_review  # noqa: E402,F401  (the editor's commands, registered on import)
from jiandu import cli_sources  # noqa: E402,F401  (source list/remove/disable/enable)
from jiandu import cli_trigger  # noqa: E402,F401  (jiandu trigger)
from jiandu import cli_rules  # noqa: E402,F401  (source edit/backfill, items why)
from jiandu import cli_attention  # noqa: E402,F401  (items retry; held and failed items listed)
from jiandu import cli_eval  # noqa: E402,F401  (eval: a report card per model)


def main() -> None:
    try:
        _main()
    finally:
        # Python's own exit collects every object of every imported module, several times:
        # 0.3-0.9 s after a command that imported the stages. Frozen objects are left to the OS.
        # atexit handlers (Prefect's event and log queues) still run.
        gc.freeze()


def _main() -> None:
    from jiandu.cli_help import click_exception_types, conventional_help

    global _debug
    from jiandu import interrupt

    interrupt.install()  # SIGTERM stops a run like Ctrl-C: at once, its items left claimable
    conventional_help()
    click_exception, abort = click_exception_types()
    args = sys.argv[1:]
    # --debug is accepted anywhere (before a "--"), not only before the subcommand.
    if "--debug" in args[: args.index("--") if "--" in args else len(args)]:
        args.remove("--debug")
        _debug = True
    try:
        code = app(args=args, prog_name="jiandu", standalone_mode=False)
    except click_exception as exc:  # usage mistakes: the usage line, the error, exit code 2
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except abort:
        if interrupt.stopping.is_set():
            _stopped()
        err.print("Aborted.")
        raise SystemExit(130) from None
    except JianduError as exc:  # connectors' errors too: each carries the input and the reason
        _fail(exc)
    if interrupt.stopping.is_set():  # typer turns Ctrl-C (and so SIGTERM) into exit code 130
        _stopped()
    raise SystemExit(code if isinstance(code, int) else 0)


def _stopped() -> None:
    """After SIGTERM or Ctrl-C: say so and leave at once."""
    from jiandu import interrupt

    err.print(f"Stopped ({interrupt.signal_name()}); what was in progress is left for the next run.")
    # Threads still waiting on the network would hold the exit until they time out; the
    # stages have already given back their claims and committed what they finished.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(interrupt.exit_code())


def _fail(exc: Exception) -> None:
    if _debug:
        raise exc
    from rich.markup import escape

    from jiandu.secrets import scrub

    # The reason names the user's input: escaped, so a file called "[/x].md" is text, not markup.
    err.print(f"[red]jiandu:[/] {escape(scrub(str(exc)))}", soft_wrap=True, markup=True,
              highlight=False)
    raise SystemExit(1)
