"""Jinja2 templates (issue editions, prompts). A package so the files install with jiandu."""

from pathlib import Path

TEMPLATES_DIR = Path(__file__).parent
