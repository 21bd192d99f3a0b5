"""Make email uniqueness ignore letter case.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_users_lower_email"


def upgrade() -> None:
    # Built CONCURRENTLY on PostgreSQL, so writes to users go on meanwhile; that
    # cannot run inside a transaction, hence the autocommit block. A build that
    # failed part way (on a lock timeout, or on two addresses that differ in case
    # only: merge those users first) leaves an invalid index behind, dropped here
    # first so that running the migration again starts afresh.
    with op.get_context().autocommit_block():
        op.drop_index(
            INDEX, table_name="users", if_exists=True, postgresql_concurrently=True
        )
        op.create_index(
            INDEX,
            "users",
            [sa.text("lower(email)")],
            unique=True,
            postgresql_concurrently=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(INDEX, table_name="users", postgresql_concurrently=True)
