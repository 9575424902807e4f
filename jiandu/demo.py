"""`make demo`: the whole pipeline on the sample sources in examples/, offline, no API key.

It adds the sample feeds, imports the sample notes, outline and clippings, runs ingest,
summarise and publish, and says where the issue is. Running it again adds nothing.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

# Shipped as package data (jiandu.examples), so the demo runs from an installed wheel too.
EXAMPLES = Path(str(files("jiandu.examples")))


SECTIONS = {"ai-weekly.xml": "产业资讯", "lab-notes.atom": "技术教程"}


def demo_commands(examples: Path = EXAMPLES) -> list[list[str]]:
    feeds = sorted(p for p in (examples / "feeds").iterdir() if p.suffix in (".xml", ".atom", ".json"))
    commands = [["source", "add", str(feed), "--section", SECTIONS.get(feed.name, "其他")]
                for feed in feeds]
    commands.append(["links", "import", str(examples / "notes.md"), str(examples / "logseq.md"),
                     "--section", "产品介绍"])
    commands.append(["links", "import", str(examples / "clippings.md"), "--section", "其他"])
    commands.append(["run"])
    return commands


def main() -> None:
    os.environ.setdefault("JIANDU_HOME", str(Path(".jiandu").resolve()))
    # The demo is offline by design: never use an LLM endpoint that happens to be configured.
    for name in ("JIANDU_LLM_BASE_URL", "JIANDU_LLM_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        os.environ.pop(name, None)
    # The sample feeds are dated: a first poll would take only their last few days.
    os.environ.setdefault("JIANDU_FIRST_POLL_MAX_AGE_DAYS", "36500")
    from jiandu.cli import app, console
    from jiandu.cli_tables import display_path
    from jiandu.runtime import open_runtime
    from jiandu.stages.publish import edition_path
    from jiandu.models import store

    for command in demo_commands():
        console.rule(f"jiandu {' '.join(Path(a).name if '/' in a else a for a in command)}")
        app(command, standalone_mode=False)
    rt = open_runtime()
    with rt.sessions() as session:
        issue = store.latest_issue(session)
        if issue is None:
            raise SystemExit("The demo published no issue: see the tables above.")
        number = issue.number
    console.rule("The issue")
    for fmt in ("md", "html"):
        console.print(f"{fmt:>4}: {display_path(edition_path(rt.settings.out_dir, number, fmt))}",
                      soft_wrap=True)


if __name__ == "__main__":
    main()
