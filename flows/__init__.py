"""Prefect flows over jiandu's stages.

Importing this package prepares Prefect's environment before Prefect itself is imported:
its state lives under JIANDU_HOME (so its database migrates once, not every run), telemetry is
off (there is no network to send it to), and its logs stay out of the user's way.
"""

from __future__ import annotations

import os
from pathlib import Path


def prepare_prefect_environment(home: Path) -> None:
    defaults = {
        "PREFECT_HOME": str((home / "prefect").resolve()),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_UI_ENABLED": "false",
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)


def _home() -> Path:
    from jiandu.settings import get_settings

    return get_settings().home


prepare_prefect_environment(_home())
