"""One settings class for the whole service, read from the environment and `.env`."""

import functools
import os
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class PlanLimits(NamedTuple):
    """What one plan allows (the plans table is `Settings.plan_limits`)."""

    credits: int
    in_progress: int
    submits_per_minute: int


def normalize_database_url(value: str) -> str:
    """Accept the usual `postgres://` spellings and pin the psycopg 3 driver.

    Raises:
        ValueError: not a PostgreSQL URL.
    """
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if value.startswith(prefix):
            return "postgresql+psycopg://" + value[len(prefix) :]
    if not value.startswith("postgresql+psycopg://"):
        raise ValueError("must be a postgresql:// URL")
    return value


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    """Every variable the service reads. Names are the environment variable names, upper-cased."""

    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    # -- runtime -----------------------------------------------------------
    app_env: Literal["development", "testing", "production"] = "development"
    app_url: str = "http://localhost:3000"
    # The backend's public URL when it is not APP_URL (static files on one host, the backend on
    # another). Build-time for the exported frontend (its socket, form actions) and run-time
    # for the links the backend makes (images, OAuth callback, share pages, email links).
    # Reflex's own name, REFLEX_API_URL, is read too and wins, as it does in Reflex.
    api_url: str | None = Field(
        default=None, validation_alias=AliasChoices("reflex_api_url", "api_url")
    )
    # Domain attribute of the session cookie (e.g. `example.com` to share it between
    # app.example.com and api.example.com); unset: a host-only cookie.
    cookie_domain: str | None = None
    port: int = Field(default=3000, ge=1, le=65535)
    data_dir: Path = Path(".data")
    secret_key: str = Field(min_length=32)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # -- engines -----------------------------------------------------------
    database_url: str
    redis_url: str

    # -- image model (OpenAI or any compatible endpoint) --------------------
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    openai_image_model: str = "gpt-image-1-mini"
    openai_moderation_model: str = "omni-moderation-latest"
    # Extra phrases refused outright (comma-separated), on top of a small built-in list.
    moderation_blocklist: str = ""

    # -- storage (ImageKit) --------------------------------------------------
    imagekit_public_key: str | None = None
    imagekit_private_key: str | None = None
    imagekit_url_endpoint: str | None = None

    # -- billing (Polar) ----------------------------------------------------
    polar_access_token: str | None = None
    polar_webhook_secret: str | None = None
    polar_server: Literal["sandbox", "production"] = "sandbox"
    # Another Polar API base URL (a self-hosted gateway, or a local stand-in in tests).
    polar_api_url: str | None = None
    polar_pro_product_id: str | None = None
    polar_gold_product_id: str | None = None

    price_pro_text: str = "$9 / month"
    price_gold_text: str = "$29 / month"

    # -- OAuth ----------------------------------------------------------------
    github_client_id: str | None = None
    github_client_secret: str | None = None
    google_client_id: str | None = None
    google_client_secret: str | None = None
    # Endpoints, overridable for GitHub Enterprise or a local stand-in.
    github_oauth_url: str = "https://github.com/login/oauth"
    github_api_url: str = "https://api.github.com"
    google_oauth_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_token_url: str = "https://oauth2.googleapis.com/token"
    google_userinfo_url: str = "https://openidconnect.googleapis.com/v1/userinfo"
    # Free users get credits only once their email is confirmed (unset: true in production).
    require_verified_email: bool | None = None

    # -- email ----------------------------------------------------------------
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "imagegen <no-reply@localhost>"
    smtp_starttls: bool = True

    # -- auth policy ----------------------------------------------------------
    session_days: int = Field(default=7, ge=1)
    session_refresh_hours: int = Field(default=24, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=15 * 60, ge=1)
    # Sign-in attempts per IP per minute, across all emails; new accounts per IP per hour.
    login_per_ip_per_minute: int = Field(default=30, ge=1)
    registrations_per_ip_per_hour: int = Field(default=5, ge=1)
    # Bearer token GET /api/metrics requires (unset: the route answers 404).
    metrics_token: str | None = Field(default=None, min_length=16)

    # -- credits and generation -------------------------------------------------
    credits_free_user: int = Field(default=10, ge=0)
    credits_pro_user: int = Field(default=100, ge=0)
    credits_gold_user: int = Field(default=500, ge=0)
    credit_window_hours: int = Field(default=24, ge=1)
    # Images a user may have queued or generating at once, per plan (at least one full batch).
    in_progress_free_user: int = Field(default=4, ge=1)
    in_progress_pro_user: int = Field(default=12, ge=1)
    in_progress_gold_user: int = Field(default=24, ge=1)
    # Generation requests a user may send per minute, per plan.
    submits_per_minute_free_user: int = Field(default=10, ge=1)
    submits_per_minute_pro_user: int = Field(default=30, ge=1)
    submits_per_minute_gold_user: int = Field(default=60, ge=1)
    # How long POST /api/v1/images/generations waits for the images before answering 202.
    api_wait_seconds: float = Field(default=90, ge=0)
    cost_low: int = Field(default=1, ge=1)
    cost_medium: int = Field(default=1, ge=1)
    cost_high: int = Field(default=1, ge=1)
    generation_time_limit_seconds: int = Field(default=120, ge=1)
    generation_max_retries: int = Field(default=3, ge=0)
    stuck_after_minutes: int = Field(default=15, ge=1)
    # The image model's rate limit, shared by every worker: at most this many provider calls
    # in any PROVIDER_BUDGET_WINDOW_SECONDS (0: unlimited). OpenAI's first tier allows 5.
    provider_images_per_minute: int = Field(default=0, ge=0)
    provider_budget_window_seconds: float = Field(default=60, gt=0, le=3600)
    # A worker that stops sending heartbeats this long is dead: its unfinished messages go back
    # to the queue at the next maintenance pass (run on this many of a million broker calls).
    # 15 s and 10 %: a killed worker's job runs again about 15-25 s later.
    worker_heartbeat_timeout_seconds: float = Field(default=15, gt=0)
    broker_maintenance_per_million: int = Field(default=100_000, ge=1, le=1_000_000)
    web_workers: int = Field(default=1, ge=1)
    gen_workers: int = Field(default=1, ge=0)
    gen_threads: int = Field(default=4, ge=1)
    offline_delay_seconds: float = Field(default=1.5, ge=0)
    # How open tabs learn about finished work: "push" (the relay, the default) or "poll" (each
    # tab refetches its gallery every POLL_INTERVAL_SECONDS; a baseline for the benchmarks).
    live_updates: Literal["push", "poll"] = "push"
    poll_interval_seconds: float = Field(default=2.0, gt=0, le=60)
    # With push: how often a tab with images in progress refetches anyway (a lost notification).
    reconcile_seconds: float = Field(default=15.0, ge=1, le=600)
    # Images per gallery page (the first page a tab loads, and each "Load more").
    gallery_page_size: int = Field(default=24, ge=4, le=200)
    # Benchmark only: the relay records each event's stage times in Redis (imagegen/relay.py).
    relay_trace: bool = False

    # -- library ---------------------------------------------------------------
    # How long a deleted image can be restored ("Undo"); the watchdog removes it for good after.
    undo_delete_seconds: int = Field(default=60, ge=5)
    # How long an "Export my data" archive can be downloaded once ready.
    export_link_hours: int = Field(default=24, ge=1)
    # Users who asked for it are emailed when an image that took longer than this finishes.
    long_job_email_minutes: float = Field(default=3, ge=0)

    @model_validator(mode="after")
    def _defaults(self) -> "Settings":
        if self.require_verified_email is None:  # production asks for a confirmed address
            self.require_verified_email = self.app_env == "production"
        return self

    @field_validator("database_url")
    @classmethod
    def _psycopg_driver(cls, value: str) -> str:
        return normalize_database_url(value)

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("app_url", "api_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def backend_url(self) -> str:
        """The backend's public URL: API_URL, else APP_URL (one origin)."""
        return self.api_url or self.app_url

    @property
    def split_origins(self) -> bool:
        """The frontend and the backend are served from different origins."""
        return self.backend_url != self.app_url

    @property
    def secure_cookies(self) -> bool:
        """Cookies get the Secure flag when the backend (which sets them) is served over https."""
        return self.backend_url.startswith("https://")

    def plan_limits(self, plan: str) -> PlanLimits:
        """What a plan allows (an unknown plan gets the free plan's)."""
        table = {
            "free_user": PlanLimits(
                self.credits_free_user,
                self.in_progress_free_user,
                self.submits_per_minute_free_user,
            ),
            "pro_user": PlanLimits(
                self.credits_pro_user, self.in_progress_pro_user, self.submits_per_minute_pro_user
            ),
            "gold_user": PlanLimits(
                self.credits_gold_user,
                self.in_progress_gold_user,
                self.submits_per_minute_gold_user,
            ),
        }
        return table.get(plan, table["free_user"])

    def plan_credits(self, plan: str) -> int:
        """Credits a plan grants per window."""
        return self.plan_limits(plan).credits

    def submits_per_minute(self, plan: str) -> int:
        """How many generation requests the plan may send per minute."""
        return self.plan_limits(plan).submits_per_minute

    def in_progress_limit(self, plan: str) -> int:
        """How many images the plan may have queued or generating at once."""
        return self.plan_limits(plan).in_progress

    def image_cost(self, quality: str) -> int:
        """Credits one image of this quality costs."""
        return int(getattr(self, f"cost_{quality}", self.cost_medium))

    def plans_by_product(self) -> dict[str, str]:
        """Polar product id → our plan."""
        pairs = {self.polar_pro_product_id: "pro_user", self.polar_gold_product_id: "gold_user"}
        return {product: plan for product, plan in pairs.items() if product}

    @property
    def openai_enabled(self) -> bool:
        """The real image model is used when a key is configured."""
        return bool(self.openai_api_key)

    @property
    def imagekit_enabled(self) -> bool:
        """ImageKit storage is used when all three ImageKit values are set."""
        return bool(
            self.imagekit_private_key and self.imagekit_public_key and self.imagekit_url_endpoint
        )


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning a validation error into one line that names the variable.

    Raises:
        SettingsError: a variable is missing or malformed.
    """
    env_file = None if os.environ.get("APP_ENV") == "testing" else ".env"
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        msg = first["msg"].removeprefix("Value error, ")
        reason = "is not set" if first["type"] == "missing" else msg[:1].lower() + msg[1:]
        raise SettingsError(f"Invalid setting {name}: {reason} (see .env.example)") from None


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
