"""review: drafts, the editor's versions of summaries, and the log of every edit

With JIANDU_REVIEW an issue is first a draft (issues.status) that an editor reads, corrects and
approves (approved_at, approved_by). An item keeps the editor's changes (items.edited) beside the
model's own summary, and its 看点 choice (items.highlight); item_edits records who changed
what, when, from what to what. Issues that exist already were sent as they are: "published".

Revision ID: 0004_review
Revises: 0003_source_claims
Create Date: 2026-12-01
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0004_review"
down_revision: Union[str, Sequence[str], None] = "0003_source_claims"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("issues") as batch:
        batch.add_column(sa.Column("status", sa.String(length=16), nullable=False,
                                   server_default="published"))
        batch.add_column(sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("approved_by", sa.String(length=128), nullable=True))
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("edited", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("highlight", sa.Boolean(), nullable=True))
    op.create_table(
        "item_edits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("issue_number", sa.Integer(), nullable=True),
        sa.Column("editor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name="fk_item_edits_item_id_items"),
        sa.PrimaryKeyConstraint("id", name="pk_item_edits"),
    )
    op.create_index("ix_item_edits_item_id", "item_edits", ["item_id"])


def downgrade() -> None:
    op.drop_index("ix_item_edits_item_id", table_name="item_edits")
    op.drop_table("item_edits")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("highlight")
        batch.drop_column("edited")
    with op.batch_alter_table("issues") as batch:
        batch.drop_column("approved_by")
        batch.drop_column("approved_at")
        batch.drop_column("status")
