"""rules: a source's include/exclude rules and minimum length (jiandu.rules)

Revision ID: 0006_rules
Revises: 0005_reach
Create Date: 2026-12-01
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0006_rules"
down_revision: Union[str, Sequence[str], None] = "0005_reach"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("include", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("exclude", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("min_zi", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("min_zi")
        batch.drop_column("exclude")
        batch.drop_column("include")
