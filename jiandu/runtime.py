"""What every stage needs: the settings and a way to open database sessions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from jiandu import secrets
from jiandu.errors import ConfigError
from jiandu.settings import Settings, get_settings
from jiandu.models.db import init_db, make_engine, session_factory


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]

    def close(self) -> None:
        self.engine.dispose()


def open_runtime(settings: Settings | None = None) -> Runtime:
    settings = settings or get_settings()
    secrets.register_settings(settings)
    secrets.install()  # every row this process stores is scrubbed of them
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file where a folder should be, no permission...
        raise ConfigError(f"JIANDU_HOME: cannot make the folder {settings.home}: "
                          f"{exc.strerror or exc}") from None
    engine = make_engine(settings.database)
    init_db(engine)
    return Runtime(settings=settings, engine=engine, sessions=session_factory(engine))
