"""Reflex states: vars and thin handlers that call `imagegen.services`."""
