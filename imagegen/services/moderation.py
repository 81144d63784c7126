"""Prompt screening before any credit moves: a small configurable blocklist, always, then the
moderation endpoint when one is configured. A refused prompt costs nothing.
"""

import functools
import re
import unicodedata

from imagegen.errors import ContentFlagged
from imagegen.providers.moderation import Moderator
from imagegen.settings import Settings

# Always refused, whatever else is configured (MODERATION_BLOCKLIST adds more).
DEFAULT_BLOCKLIST = ("child sexual abuse", "child porn", "csam")


def _normalize(text: str) -> str:
    """Case, width and punctuation folded away, and runs of single letters joined, so dotted,
    spaced or full-width spellings of a phrase still match it.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    merged: list[str] = []
    letters = ""
    for word in re.sub(r"[\W_]+", " ", folded).split():
        if len(word) == 1:
            letters += word
            continue
        merged.extend([letters, word] if letters else [word])
        letters = ""
    if letters:
        merged.append(letters)
    return " " + " ".join(merged) + " "


def blocklist(settings: Settings) -> tuple[str, ...]:
    """The normalized phrases refused outright."""
    return _normalized_blocklist(settings.moderation_blocklist)


@functools.lru_cache(maxsize=4)
def _normalized_blocklist(configured: str) -> tuple[str, ...]:
    """Normalized once per configuration, not on every submit."""
    phrases = [*DEFAULT_BLOCKLIST, *re.split(r"[,\n]", configured)]
    return tuple(sorted({_normalize(p).strip() for p in phrases if p.strip()}))


def check_prompt(prompt: str, *, moderator: Moderator, settings: Settings) -> None:
    """Refuse a prompt that is on the blocklist or flagged by the moderation endpoint.

    Raises:
        ContentFlagged: refused; the message says why and that nothing was charged.
        ModerationUnavailable: the endpoint could not be asked (nothing was charged).
    """
    text = _normalize(prompt)
    if any(f" {phrase} " in text for phrase in blocklist(settings)):
        raise ContentFlagged("This prompt is not allowed here. Nothing was charged.")
    categories = moderator.flagged_categories(prompt)
    if categories:
        labels = ", ".join(c.replace("/", " / ").replace("-", " ") for c in categories)
        raise ContentFlagged(
            f"This prompt was flagged by moderation ({labels}). Nothing was charged; "
            "please rephrase it."
        )
