"""What a stage run did, as a dataclass the CLI prints and the flows turn into artifacts."""

from __future__ import annotations

from dataclasses import asdict


class StageReport:
    """Mixin for the stage reports (dataclasses): plain dicts for tables and JSON."""

    def as_dict(self) -> dict:
        return asdict(self)  # type: ignore[call-overload]
