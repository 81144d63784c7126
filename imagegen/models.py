"""Every table of the service, as plain SQLModel classes (schema changes go through Alembic)."""

import secrets
import uuid
from datetime import UTC, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class Plan(StrEnum):
    """A user's plan (stored as its value)."""

    FREE = "free_user"
    PRO = "pro_user"
    GOLD = "gold_user"

    @property
    def label(self) -> str:
        """Free / Pro / Gold."""
        return PLAN_LABELS[self]


PLANS = tuple(Plan)
PLAN_LABELS: dict[str, str] = {Plan.FREE: "Free", Plan.PRO: "Pro", Plan.GOLD: "Gold"}
# 64 hex characters from PostgreSQL's strong random source (gen_random_uuid), for rows
# inserted without the application's own secrets.token_hex(32).
FEED_KEY_SQL = "encode(sha256((gen_random_uuid()::text || gen_random_uuid()::text)::bytea), 'hex')"


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the models use."""
    return datetime.now(UTC)


class TimestampMixin(SQLModel):
    """created_at / updated_at, set by the application and defaulted by the database."""

    created_at: datetime = Field(
        default_factory=utcnow,
        sa_type=sa.DateTime(timezone=True),  # type: ignore[call-overload]
        sa_column_kwargs={"server_default": sa.func.now()},
    )
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_type=sa.DateTime(timezone=True),  # type: ignore[call-overload]
        sa_column_kwargs={"server_default": sa.func.now(), "onupdate": utcnow},
    )


class User(TimestampMixin, table=True):
    """A person with an account. `email` is stored normalised (lower-case), hence unique case-insensitively."""

    __tablename__ = "user"
    __table_args__ = (
        sa.CheckConstraint("plan IN ('free_user', 'pro_user', 'gold_user')", name="ck_user_plan"),
        sa.CheckConstraint("role IN ('user', 'admin')", name="ck_user_role"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=100)
    email: str = Field(max_length=320, unique=True)
    email_verified: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    image: str | None = Field(default=None, max_length=2048)
    plan: str = Field(
        default="free_user", max_length=16, sa_column_kwargs={"server_default": "free_user"}
    )
    # "admin" opens /admin (granted with `imagegen admin grant EMAIL`).
    role: str = Field(default="user", max_length=16, sa_column_kwargs={"server_default": "user"})
    # A disabled account cannot sign in, and its sessions and API keys stop working.
    disabled: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # 256 random bits naming this user's live feed on the server (the shared state every tab
    # of the user links to). Never sent to a browser; rotated when sessions are revoked.
    feed_key: str = Field(
        default_factory=lambda: secrets.token_hex(32),
        max_length=64,
        sa_column_kwargs={"server_default": sa.text(FEED_KEY_SQL)},
    )
    # Email me when an image that took longer than LONG_JOB_EMAIL_MINUTES finishes (Account).
    email_when_done: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class UserSession(TimestampMixin, table=True):
    """A signed-in browser. Only the SHA-256 of the cookie token is stored."""

    __tablename__ = "session"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    token: str = Field(max_length=64, unique=True)
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True))  # type: ignore[call-overload]
    ip_address: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=512)
    user_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE", index=True)


class Account(TimestampMixin, table=True):
    """A way to sign in: `credential` (password hash) or an OAuth provider link."""

    __tablename__ = "account"
    __table_args__ = (
        sa.UniqueConstraint("provider_id", "account_id", name="uq_account_provider_account"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    account_id: str = Field(max_length=255)
    provider_id: str = Field(max_length=32)
    user_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    access_token: str | None = None
    refresh_token: str | None = None
    id_token: str | None = None
    access_token_expires_at: datetime | None = Field(
        default=None,
        sa_type=sa.DateTime(timezone=True),  # type: ignore[call-overload]
    )
    refresh_token_expires_at: datetime | None = Field(
        default=None,
        sa_type=sa.DateTime(timezone=True),  # type: ignore[call-overload]
    )
    scope: str | None = None
    password: str | None = None


class Verification(TimestampMixin, table=True):
    """A single-use token (email verification, password reset); `value` holds its hash."""

    __tablename__ = "verification"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    identifier: str = Field(max_length=320, index=True)
    value: str = Field(max_length=128)
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True))  # type: ignore[call-overload]


class ImageStatus(StrEnum):
    """Where an image is in its life (stored as its value; ck_image_status lists them)."""

    QUEUED = "queued"
    GENERATING = "generating"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


IMAGE_STATUSES = tuple(ImageStatus)
# Still to finish: counted against the in-progress limit, watched by the watchdog.
ACTIVE_STATUSES = (ImageStatus.QUEUED, ImageStatus.GENERATING)
# Done for good: a waiting API call can answer.
TERMINAL_STATUSES = (ImageStatus.COMPLETED, ImageStatus.FAILED, ImageStatus.CANCELLED)


class Image(TimestampMixin, table=True):
    """One generated (or to-be-generated) image of a user."""

    __tablename__ = "image"
    __table_args__ = (
        sa.Index("ix_image_user_id_created_at", "user_id", "created_at"),
        # Full-text search over prompts: 'simple' matches the words as typed in any language,
        # 'english' matches their stems ("cats" finds "cat"); a search uses either.
        sa.Index(
            "ix_image_prompt_fts",
            sa.text("to_tsvector('simple'::regconfig, prompt)"),
            postgresql_using="gin",
        ),
        sa.Index(
            "ix_image_prompt_fts_english",
            sa.text("to_tsvector('english'::regconfig, prompt)"),
            postgresql_using="gin",
        ),
        # A user's favorites, newest first (the Favorites filter).
        sa.Index(
            "ix_image_user_id_favorite_created_at",
            "user_id",
            "created_at",
            postgresql_where=sa.text("favorite"),
        ),
        # Deleted images waiting for the watchdog to remove them for good.
        sa.Index(
            "ix_image_deleted_at",
            "deleted_at",
            postgresql_where=sa.text("deleted_at IS NOT NULL"),
        ),
        # Variations of an image: removing it (the watchdog) finds them without a table scan.
        sa.Index(
            "ix_image_source_image_id",
            "source_image_id",
            postgresql_where=sa.text("source_image_id IS NOT NULL"),
        ),
        # Recently finished images (the "email me when done" sweep).
        sa.Index("ix_image_completed_at", "completed_at"),
        # The watchdog looks for work stuck in these states.
        sa.Index(
            "ix_image_active_updated_at",
            "updated_at",
            postgresql_where=sa.text("status IN ('queued', 'generating')"),
        ),
        # A user's images in progress (the per-plan limit is checked on every submit).
        sa.Index(
            "ix_image_user_id_active",
            "user_id",
            postgresql_where=sa.text("status IN ('queued', 'generating')"),
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'generating', 'completed', 'failed', 'cancelled')",
            name="ck_image_status",
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    prompt: str
    status: str = Field(default="queued", max_length=16)
    image_url: str | None = None
    user_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE")
    # Options the user chose.
    size: str = Field(
        default="1024x1024", max_length=16, sa_column_kwargs={"server_default": "1024x1024"}
    )
    quality: str = Field(
        default="medium", max_length=8, sa_column_kwargs={"server_default": "medium"}
    )
    style: str | None = Field(default=None, max_length=32)
    # Credits debited for this image (refunded once when it fails or is cancelled).
    cost: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    # Where the bytes are stored: the storage key, and the provider's file id (ImageKit).
    storage_key: str | None = Field(default=None, max_length=255)
    storage_file_id: str | None = Field(default=None, max_length=255)
    width: int | None = None
    height: int | None = None
    # Human reason when failed; the generator that made it ("openai" / "offline").
    error: str | None = Field(default=None, max_length=500)
    provider: str | None = Field(default=None, max_length=32)
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    dismissed: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    completed_at: datetime | None = Field(
        default=None,
        sa_type=sa.DateTime(timezone=True),  # type: ignore[call-overload]
    )
    # The public link /s/<share_token> while the owner shares the image (None: private).
    share_token: str | None = Field(default=None, max_length=64, unique=True)
    shared_at: datetime | None = Field(
        default=None,
        sa_type=sa.DateTime(timezone=True),  # type: ignore[call-overload]
    )
    # A heart on the card: the Favorites filter shows these.
    favorite: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # Deleted by its owner at this time: hidden everywhere at once, restorable ("Undo") for
    # UNDO_DELETE_SECONDS, then removed for good (row and file) by the watchdog.
    deleted_at: datetime | None = Field(
        default=None,
        sa_type=sa.DateTime(timezone=True),  # type: ignore[call-overload]
    )
    # When its owner was emailed that it finished (the Account page's "email me" setting).
    emailed_at: datetime | None = Field(
        default=None,
        sa_type=sa.DateTime(timezone=True),  # type: ignore[call-overload]
    )
    # Variations: the owner's image this one is drawn from (its bytes go to the model's edit
    # or variation endpoint); None for a fresh generation, or once the source is removed.
    source_image_id: uuid.UUID | None = Field(
        default=None, foreign_key="image.id", ondelete="SET NULL"
    )


class CreditLedger(SQLModel, table=True):
    """Every debit (negative) and refund (positive) of credits, for the user's account page."""

    __tablename__ = "credit_ledger"
    __table_args__ = (sa.Index("ix_credit_ledger_user_id_created_at", "user_id", "created_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE")
    amount: int
    reason: str = Field(max_length=64)
    image_id: uuid.UUID | None = Field(default=None, foreign_key="image.id", ondelete="SET NULL")
    created_at: datetime = Field(
        default_factory=utcnow,
        sa_type=sa.DateTime(timezone=True),  # type: ignore[call-overload]
        sa_column_kwargs={"server_default": sa.func.now()},
    )


class Usage(SQLModel, table=True):
    """Credits used in the current window, one row per key (e.g. `credits:<user id>`)."""

    __tablename__ = "usage"

    key: str = Field(primary_key=True, max_length=128)
    points: int = Field(default=0)
    expire: datetime | None = Field(
        default=None,
        sa_type=sa.DateTime(timezone=True),  # type: ignore[call-overload]
    )


class Subscription(TimestampMixin, table=True):
    """The user's Polar subscription as the webhooks last told us (one per user)."""

    __tablename__ = "subscription"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE", unique=True)
    polar_customer_id: str | None = Field(default=None, max_length=64)
    polar_subscription_id: str | None = Field(default=None, max_length=64)
    product_id: str | None = Field(default=None, max_length=64)
    plan: str = Field(default="free_user", max_length=16)
    status: str = Field(default="active", max_length=32)
    cancel_at_period_end: bool = Field(default=False)
    current_period_end: datetime | None = Field(
        default=None,
        sa_type=sa.DateTime(timezone=True),  # type: ignore[call-overload]
    )
    # When Polar last changed the state we hold: older events are ignored.
    source_modified_at: datetime | None = Field(
        default=None,
        sa_type=sa.DateTime(timezone=True),  # type: ignore[call-overload]
    )


class WebhookEvent(SQLModel, table=True):
    """Every processed webhook delivery (by `webhook-id`), so a redelivery is applied once."""

    __tablename__ = "webhook_event"

    id: str = Field(primary_key=True, max_length=128)
    source: str = Field(default="polar", max_length=16)
    event_type: str = Field(max_length=64)
    outcome: str = Field(max_length=32)
    received_at: datetime = Field(
        default_factory=utcnow,
        sa_type=sa.DateTime(timezone=True),  # type: ignore[call-overload]
        sa_column_kwargs={"server_default": sa.func.now()},
    )


class ApiKey(SQLModel, table=True):
    """A user's key for the REST API. Only the SHA-256 of the key is stored; `prefix` (the
    first characters, e.g. `ig_3fa9c21b`) is shown so people can tell their keys apart.
    """

    __tablename__ = "api_key"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=64)
    prefix: str = Field(max_length=16)
    key_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(
        default_factory=utcnow,
        sa_type=sa.DateTime(timezone=True),  # type: ignore[call-overload]
        sa_column_kwargs={"server_default": sa.func.now()},
    )
    last_used_at: datetime | None = Field(
        default=None,
        sa_type=sa.DateTime(timezone=True),  # type: ignore[call-overload]
    )
    revoked_at: datetime | None = Field(
        default=None,
        sa_type=sa.DateTime(timezone=True),  # type: ignore[call-overload]
    )
    # Why it stopped working when that was not the user's click ("password_reset"): such keys
    # stay listed as revoked so the user sees why their script fails.
    revoked_reason: str | None = Field(default=None, max_length=32)


class AuditLog(SQLModel, table=True):
    """Every admin action: who did what to whom, with the details (kept when users go)."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_created_at", "created_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # The admin (None: the `imagegen admin` command line).
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    actor_email: str = Field(max_length=320)
    action: str = Field(max_length=64)
    target_user_id: uuid.UUID | None = Field(
        default=None, foreign_key="user.id", ondelete="SET NULL"
    )
    target_email: str | None = Field(default=None, max_length=320)
    details: str = Field(default="")
    created_at: datetime = Field(
        default_factory=utcnow,
        sa_type=sa.DateTime(timezone=True),  # type: ignore[call-overload]
        sa_column_kwargs={"server_default": sa.func.now()},
    )


class PlanChange(SQLModel, table=True):
    """Each time a user's plan changes (billing webhooks, admins), for plan counts over time."""

    __tablename__ = "plan_change"
    __table_args__ = (sa.Index("ix_plan_change_changed_at", "changed_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    plan: str = Field(max_length=16)
    changed_at: datetime = Field(
        default_factory=utcnow,
        sa_type=sa.DateTime(timezone=True),  # type: ignore[call-overload]
        sa_column_kwargs={"server_default": sa.func.now()},
    )


class Collection(TimestampMixin, table=True):
    """A named folder of a user's images (an image may be in several), with its own public
    link `/c/<share_token>` while shared.
    """

    __tablename__ = "collection"
    __table_args__ = (
        # Names are unique per user, whatever their case.
        sa.Index("uq_collection_user_id_name", "user_id", sa.text("lower(name)"), unique=True),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE")
    name: str = Field(max_length=80)
    share_token: str | None = Field(default=None, max_length=64, unique=True)
    shared_at: datetime | None = Field(
        default=None,
        sa_type=sa.DateTime(timezone=True),  # type: ignore[call-overload]
    )


class CollectionImage(SQLModel, table=True):
    """An image in a collection."""

    __tablename__ = "collection_image"

    collection_id: uuid.UUID = Field(
        foreign_key="collection.id", ondelete="CASCADE", primary_key=True
    )
    image_id: uuid.UUID = Field(
        foreign_key="image.id", ondelete="CASCADE", primary_key=True, index=True
    )
    added_at: datetime = Field(
        default_factory=utcnow,
        sa_type=sa.DateTime(timezone=True),  # type: ignore[call-overload]
        sa_column_kwargs={"server_default": sa.func.now()},
    )


EXPORT_STATUSES = ("pending", "ready", "failed", "expired")


class DataExport(TimestampMixin, table=True):
    """A user's "Export my data" archive: prepared by a worker, downloadable until
    `expires_at` by its owner (and through the emailed link, whose token is stored hashed).
    """

    __tablename__ = "data_export"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('pending', 'ready', 'failed', 'expired')", name="ck_data_export_status"
        ),
        sa.Index("ix_data_export_user_id_created_at", "user_id", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE")
    status: str = Field(default="pending", max_length=16)
    # The archive under DATA_DIR/exports, its size, and when the link stops working.
    file_name: str | None = Field(default=None, max_length=255)
    size_bytes: int | None = Field(default=None, sa_type=sa.BigInteger)  # type: ignore[call-overload]
    image_count: int | None = None
    token_hash: str | None = Field(default=None, max_length=64, unique=True)
    ready_at: datetime | None = Field(
        default=None,
        sa_type=sa.DateTime(timezone=True),  # type: ignore[call-overload]
    )
    expires_at: datetime | None = Field(
        default=None,
        sa_type=sa.DateTime(timezone=True),  # type: ignore[call-overload]
    )
    error: str | None = Field(default=None, max_length=500)
