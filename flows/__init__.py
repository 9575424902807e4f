"""Prefect flows over jiandu's stages.

`prepare_prefect_environment` must be called before Prefect itself is imported (where a flow
is run or served, never at import time, so a bad jiandu.toml cannot break an import):
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
