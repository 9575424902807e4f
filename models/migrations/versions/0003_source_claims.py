"""claims on sources: a feed is polled by one worker at a time

Workers running ingest at once each claim the due feeds they poll (models.claims), as they
already claim items, so no feed is fetched twice in one round.

Revision ID: 0003_source_claims
Revises: 0002_claim_index
Create Date: 2026-11-23
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003_source_claims"
down_revision: Union[str, Sequence[str], None] = "0002_claim_index"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
