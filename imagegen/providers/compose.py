"""The composition root: which implementation of each outside system this process uses."""

import functools
from dataclasses import dataclass

from imagegen.providers.image_generator import (
    ImageGenerator,
    OfflineImageGenerator,
    OpenAIImageGenerator,
)
from imagegen.providers.image_storage import ImageKitStorage, ImageStorage, LocalImageStorage
from imagegen.providers.moderation import Moderator, NoRemoteModerator, OpenAIModerator
from imagegen.settings import Settings, get_settings


@dataclass(frozen=True)
class Providers:
    """One implementation per port."""

    generator: ImageGenerator
    storage: ImageStorage


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


def build_providers(settings: Settings) -> Providers:
    """Every port, chosen by the settings."""
    return Providers(generator=build_generator(settings), storage=build_storage(settings))


@functools.lru_cache(maxsize=1)
def get_storage() -> ImageStorage:
    """This process's storage, built once from the settings."""
    return build_storage(get_settings())


def build_moderator(settings: Settings) -> Moderator:
    """OpenAI's moderation endpoint with a key; none without (the blocklist still applies)."""
    if settings.openai_api_key:
        return OpenAIModerator(
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url,
            model=settings.openai_moderation_model,
        )
    return NoRemoteModerator()


@functools.lru_cache(maxsize=1)
def get_moderator() -> Moderator:
    """This process's moderator, built once from the settings."""
    return build_moderator(get_settings())
