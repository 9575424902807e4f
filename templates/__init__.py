"""Jinja2 templates (issue editions, site, prompts), shipped as package data of jiandu."""

from importlib.resources import files
from pathlib import Path

# Read through importlib.resources so an installed wheel finds them as well as a checkout.
TEMPLATES_DIR = Path(str(files(__name__)))
PROMPTS_DIR = TEMPLATES_DIR / "prompts"
