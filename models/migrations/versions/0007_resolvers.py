"""resolvers: reserved for the resolvers work (no schema change yet)

Revision ID: 0007_resolvers
Revises: 0006_rules
Create Date: 2026-12-01
"""
from typing import Sequence, Union

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0007_resolvers"
down_revision: Union[str, Sequence[str], None] = "0006_rules"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
