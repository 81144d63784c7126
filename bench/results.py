"""bench/results.json, where every benchmark's figures go: `make bench` writes it whole, and a
benchmark run alone merges its own keys into it."""

import json
from pathlib import Path
from typing import Any

PATH = Path(__file__).resolve().parent / "results.json"


def load() -> dict[str, Any]:
    """What the last runs wrote ({} when nothing has run)."""
    return json.loads(PATH.read_text()) if PATH.exists() else {}


def save(results: dict[str, Any]) -> None:
    PATH.write_text(json.dumps(results, indent=2))


def merge(figures: dict[str, Any]) -> None:
    """Add or replace these top-level keys, keeping the others; says so."""
    save(load() | figures)
    print("\nmerged into bench/results.json")
