"""Reusable UI pieces: plain functions returning components."""
