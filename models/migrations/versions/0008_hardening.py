"""hardening: reserved for the hardening work (no schema change yet)

Revision ID: 0008_hardening
Revises: 0007_resolvers
Create Date: 2026-12-01
"""
from typing import Sequence, Union

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0008_hardening"
down_revision: Union[str, Sequence[str], None] = "0007_resolvers"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
