"""Alembic environment for the outcome log.

The URL is, in order: `-x url=...`, `sqlalchemy.url` in the config, the settings' database_url.
Only `outcome_` tables are managed here; Rasa's tracker tables in the same database are ignored.
"""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool

from sga.outcomes.migrate import VERSION_TABLE, include_object
from sga.outcomes.models import Base
from sga.settings import load_settings

config = context.config
if config.config_file_name is not None:  # run from alembic.ini; `migrate.upgrade` leaves logging alone
    fileConfig(config.config_file_name)


def database_url() -> str:
    return (
        context.get_x_argument(as_dictionary=True).get("url")
        or config.get_main_option("sqlalchemy.url")
        or load_settings().database_url
    )


def options(url) -> dict:
    return dict(
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        include_object=include_object,
        render_as_batch=url.startswith("sqlite"),  # SQLite can only ALTER by copying the table
        compare_type=True,
    )


def run_migrations_offline() -> None:
    url = database_url()
    context.configure(url=url, literal_binds=True, **options(url))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = database_url()
    engine = create_engine(url, poolclass=pool.NullPool, future=True)
    with engine.connect() as connection:
        context.configure(connection=connection, **options(url))
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
