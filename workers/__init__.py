"""Dramatiq workers: `dramatiq workers` loads the broker and every actor."""

from workers import (
    broker,
    generate_image,
)

__all__ = ["broker", "generate_image"]
