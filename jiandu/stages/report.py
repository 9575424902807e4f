"""What a stage run did, as a dataclass the CLI prints and the flows turn into artifacts."""

from __future__ import annotations

from dataclasses import asdict


class StageReport:
    """Mixin for the stage reports (dataclasses): plain dicts for tables and JSON."""

    def as_dict(self) -> dict:
        from jiandu.secrets import scrub_data

        # Reports are printed and become Prefect artifacts: no secret an error echoed.
        return scrub_data(asdict(self))  # type: ignore[call-overload]
