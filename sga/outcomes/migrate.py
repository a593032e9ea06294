"""Run the outcome log's Alembic migrations from code (used by `sga db upgrade` and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
VERSION_TABLE = "outcome_alembic_version"  # not `alembic_version`: other tools may share the database


def include_object(obj: object, name: str, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic manages only the `outcome_` tables; Rasa's tracker tables are left alone."""
    return type_ != "table" or bool(name.startswith("outcome_"))


def alembic_config(database_url: str) -> Config:
    """An Alembic config that works from any working directory (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))  # ConfigParser interpolation
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the outcome tables up to `revision`; for SQLite, create the file's directory if needed."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), revision)
