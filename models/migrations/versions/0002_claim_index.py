"""index for claiming work: items (status, claimed_until)

Workers claim items of one status whose lease is free or has expired (models.claims); this
index keeps that query cheap when the items table holds months of published items.

Revision ID: 0002_claim_index
Revises: 0001_initial
Create Date: 2026-11-23
"""
from typing import Sequence, Union

from alembic import op

revision: str = "0002_claim_index"
down_revision: Union[str, Sequence[str], None] = "0001_initial"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index("ix_items_status_claimed_until", "items", ["status", "claimed_until"])


def downgrade() -> None:
    op.drop_index("ix_items_status_claimed_until", table_name="items")
