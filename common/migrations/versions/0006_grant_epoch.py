"""gallery_videos.grant_epoch: HLS playback grants carry it; a visibility change bumps it

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('gallery_videos') as batch:
        batch.add_column(sa.Column('grant_epoch', sa.Integer(), nullable=False,
                                   server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('gallery_videos') as batch:
        batch.drop_column('grant_epoch')
