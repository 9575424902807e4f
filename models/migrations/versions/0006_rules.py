"""rules: reserved for the rules work (no schema change yet)

Revision ID: 0006_rules
Revises: 0005_reach
Create Date: 2026-12-01
"""
from typing import Sequence, Union

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0006_rules"
down_revision: Union[str, Sequence[str], None] = "0005_reach"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
