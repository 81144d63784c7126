"""Business rules as plain functions over a SQLModel `Session`; nothing here knows Reflex."""
