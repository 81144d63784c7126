"""index a user's images in progress (per-plan in-progress limit)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_image_user_id_active",
        "image",
        ["user_id"],
        unique=False,
        postgresql_where=sa.text("status IN ('queued', 'generating')"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_image_user_id_active",
        table_name="image",
        postgresql_where=sa.text("status IN ('queued', 'generating')"),
    )
