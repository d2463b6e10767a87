"""Initial feedback schema: apps, api_keys, users, generations, events, impression_items.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "apps",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("app_id", sa.Integer, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("prefix", sa.String(32), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
    )
    op.create_table(
        "users",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("app_id", sa.Integer, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("app_id", "external_id", name="uq_users_app_external"),
    )
    op.create_table(
        "generations",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("app_id", sa.Integer, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("user_id", BigId, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("prompt", sa.Text, nullable=False),
        sa.Column("negative_prompt", sa.Text, nullable=False),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("adapter", sa.String(256), nullable=True),
        sa.Column("seed", sa.BigInteger, nullable=True),
        sa.Column("steps", sa.Integer, nullable=True),
        sa.Column("cfg_scale", sa.Float, nullable=True),
        sa.Column("width", sa.Integer, nullable=True),
        sa.Column("height", sa.Integer, nullable=True),
        sa.Column("image_sha256", sa.String(64), nullable=True),
        sa.Column("image_suffix", sa.String(8), nullable=True),
        sa.Column("image_uri", sa.String(2048), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("app_id", "external_id", name="uq_generations_app_external"),
    )
    op.create_table(
        "events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("app_id", sa.Integer, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("client_event_id", sa.String(128), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("user_id", BigId, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("generation_id", BigId, sa.ForeignKey("generations.id"), nullable=True),
        sa.Column("impression_client_id", sa.String(128), nullable=True),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("payload", sa.JSON, nullable=True),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.UniqueConstraint("app_id", "client_event_id", name="uq_events_app_client"),
    )
    op.create_index("ix_events_app_type", "events", ["app_id", "type"])
    op.create_index("ix_events_app_user", "events", ["app_id", "user_id"])
    op.create_table(
        "impression_items",
        sa.Column("event_id", BigId, sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("generation_id", BigId, sa.ForeignKey("generations.id"), nullable=False, index=True),
    )


def downgrade() -> None:
    for table in ("impression_items", "events", "generations", "users", "api_keys", "apps"):
        op.drop_table(table)
