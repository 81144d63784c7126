"""Dramatiq workers: `dramatiq workers` loads the broker and every actor."""

from workers import broker  # noqa: F401  (must come first: sets the broker)
from workers import generate_image  # noqa: F401

__all__ = ["broker", "generate_image"]
