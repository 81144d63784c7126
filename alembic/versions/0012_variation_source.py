"""variation source

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 07:20:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0012'
down_revision: Union[str, None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Variations remember the image they were drawn from; removing that image keeps them.
    op.add_column('image', sa.Column('source_image_id', sa.Uuid(), nullable=True))
    op.create_foreign_key(
        'image_source_image_id_fkey', 'image', 'image', ['source_image_id'], ['id'],
        ondelete='SET NULL',
    )
    # Removing an image looks up its variations (the foreign key's SET NULL): no table scan.
    op.create_index(
        'ix_image_source_image_id', 'image', ['source_image_id'], unique=False,
        postgresql_where=sa.text('source_image_id IS NOT NULL'),
    )


def downgrade() -> None:
    op.drop_index(
        'ix_image_source_image_id', table_name='image',
        postgresql_where=sa.text('source_image_id IS NOT NULL'),
    )
    op.drop_constraint('image_source_image_id_fkey', 'image', type_='foreignkey')
    op.drop_column('image', 'source_image_id')
