"""Which sources are files on this machine: a local path or a file:// URL.

Apart from connectors.http so that reading a feed file (`jiandu source add FILE`) loads no
HTTP client.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname


def as_local_path(url: str) -> Path | None:
    """The file a `url` names when it is a local path or file:// URL; None for anything else."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return Path(url2pathname(parts.path))
    if parts.scheme == "" or (len(parts.scheme) == 1 and url[1:2] == ":"):  # C:\\ on Windows
        return Path(url).expanduser()
    return None
