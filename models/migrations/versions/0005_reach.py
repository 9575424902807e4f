"""reach: reserved for the reach work (no schema change yet)

Revision ID: 0005_reach
Revises: 0004_review
Create Date: 2026-12-01
"""
from typing import Sequence, Union

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0005_reach"
down_revision: Union[str, Sequence[str], None] = "0004_review"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
