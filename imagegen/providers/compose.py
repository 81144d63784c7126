"""The composition root: which implementation of each outside system this process uses.

All six ports are built here, once per process (again only when the settings object is
replaced, as tests do). Callers ask `get_providers()`; tests swap ports with
`providers_swapped(...)`, never by patching module globals.
"""

import contextlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from imagegen.providers.billing import Billing, LocalBilling, build_billing
from imagegen.providers.image_generator import (
    ImageGenerator,
    OfflineImageGenerator,
    OpenAIImageGenerator,
)
from imagegen.providers.image_storage import ImageKitStorage, ImageStorage, LocalImageStorage
from imagegen.providers.mailer import Mailer, build_mailer
from imagegen.providers.moderation import Moderator, NoRemoteModerator, OpenAIModerator
from imagegen.providers.oauth import OAuthProvider, configured_providers
from imagegen.settings import Settings, get_settings


@dataclass(frozen=True)
class Providers:
    """One implementation per port."""

    generator: ImageGenerator
    storage: ImageStorage
    moderator: Moderator = field(default_factory=lambda: NoRemoteModerator())
    billing: Billing = field(default_factory=LocalBilling)
    mailer: Mailer = field(default_factory=lambda: build_mailer(get_settings()))
    # "Continue with …" providers by name (only the configured ones).
    oauth: Mapping[str, OAuthProvider] = field(default_factory=dict)


def build_generator(settings: Settings) -> ImageGenerator:
    """OpenAI (or any compatible endpoint) with a key; the offline generator without."""
    if settings.openai_api_key:
        return OpenAIImageGenerator(
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url,
            model=settings.openai_image_model,
        )
    return OfflineImageGenerator(delay=settings.offline_delay_seconds)


def build_storage(settings: Settings) -> ImageStorage:
    """ImageKit with all three keys; files under DATA_DIR/images without."""
    if settings.imagekit_enabled:
        return ImageKitStorage(
            private_key=settings.imagekit_private_key or "",
            public_key=settings.imagekit_public_key or "",
            url_endpoint=settings.imagekit_url_endpoint or "",
        )
    return LocalImageStorage(root=settings.data_dir / "images")


def build_moderator(settings: Settings) -> Moderator:
    """OpenAI's moderation endpoint with a key; none without (the blocklist still applies)."""
    if settings.openai_api_key:
        return OpenAIModerator(
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url,
            model=settings.openai_moderation_model,
        )
    return NoRemoteModerator()


def build_providers(settings: Settings) -> Providers:
    """Every port, chosen by the settings."""
    return Providers(
        generator=build_generator(settings),
        storage=build_storage(settings),
        moderator=build_moderator(settings),
        billing=build_billing(settings),
        mailer=build_mailer(settings),
        oauth=configured_providers(settings),
    )


_lock = threading.Lock()
_built: tuple[Settings, Providers] | None = None
_swapped: Providers | None = None


def get_providers() -> Providers:
    """This process's ports, built once from the settings."""
    global _built
    if _swapped is not None:
        return _swapped
    settings = get_settings()
    with _lock:
        if _built is None or _built[0] is not settings:
            _built = (settings, build_providers(settings))
        return _built[1]


def use_providers(providers: Providers | None) -> None:
    """Wire this process's ports by hand (a benchmark's timed ones); None: back to the ones
    the settings build.
    """
    global _swapped
    _swapped = providers


@contextlib.contextmanager
def providers_swapped(**ports: Any) -> Iterator[Providers]:
    """Tests: this process's ports with some replaced (`generator=…`, `mailer=…`) until the
    block ends.
    """
    global _swapped
    saved = _swapped
    _swapped = replace(get_providers(), **ports)
    try:
        yield _swapped
    finally:
        _swapped = saved


def get_storage() -> ImageStorage:
    """This process's storage."""
    return get_providers().storage


def get_moderator() -> Moderator:
    """This process's moderator."""
    return get_providers().moderator
