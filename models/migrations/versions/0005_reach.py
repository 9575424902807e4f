"""reach: pushes (one row per issue and push target); sources learn their rhythm and go quiet

Revision ID: 0005_reach
Revises: 0004_review
Create Date: 2026-12-01
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0005_reach"
down_revision: Union[str, Sequence[str], None] = "0004_review"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("rhythm_seconds", sa.Float(), nullable=True))
        batch.add_column(sa.Column("newest_entry_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("quiet_since", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "pushes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("target_key", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=2048), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["issue_id"], ["issues.id"], name=op.f("fk_pushes_issue_id_issues")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pushes")),
        sa.UniqueConstraint("issue_id", "target_key", name=op.f("uq_pushes_issue_id_target_key")),
    )


def downgrade() -> None:
    op.drop_table("pushes")
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("quiet_since")
        batch.drop_column("newest_entry_at")
        batch.drop_column("rhythm_seconds")
