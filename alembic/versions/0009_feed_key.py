"""feed key: the secret naming each user's live feed

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 02:40:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0009'
down_revision: Union[str, None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# Keep in step with imagegen.models.FEED_KEY_SQL.
FEED_KEY_SQL = "encode(sha256((gen_random_uuid()::text || gen_random_uuid()::text)::bytea), 'hex')"


def upgrade() -> None:
    # Every existing user gets its own random key (the server default runs once per row).
    op.add_column(
        'user',
        sa.Column(
            'feed_key',
            sqlmodel.sql.sqltypes.AutoString(length=64),
            server_default=sa.text(FEED_KEY_SQL),
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column('user', 'feed_key')
