"""What every table has in common: its name comes from the stage, billing is on demand.

The table name is resolved on each use from `TABLE_PREFIX` (see `config`), so
nothing is read at import time; PynamoDB opens its connection lazily on first use.
"""

from chalicelib import config


class _StageTableMeta(type):
    @property
    def table_name(cls) -> str:
        return config.table_name(cls.short_name)


def table_meta(short_name: str, schema_version: int = 1) -> type:
    """A PynamoDB `Meta` for the stage's `<prefix><short_name>` table."""
    return _StageTableMeta(
        "Meta",
        (),
        {"short_name": short_name, "schema_version": schema_version, "billing_mode": "PAY_PER_REQUEST"},
    )
