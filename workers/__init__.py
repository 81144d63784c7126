"""Dramatiq workers: `dramatiq workers` loads the broker and every actor."""

from workers import (
    broker,
    export_data,
    generate_image,
)

__all__ = ["broker", "export_data", "generate_image"]
