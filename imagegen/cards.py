"""The gallery card: the typed model of what one image card shows (strings only, no secrets),
built from an image row. States keep cards in their vars; the relay builds them too.
"""

import logging
import uuid
from datetime import UTC, datetime
from typing import TypedDict, cast

import redis

from imagegen.http import urls
from imagegen.models import Image
from imagegen.providers.compose import get_storage
from imagegen.redis_client import get_redis
from imagegen.routes import image_download_url, share_path
from imagegen.services import fair_queue
from imagegen.services.credits import Balance
from imagegen.settings import get_settings

log = logging.getLogger(__name__)

THUMB_WIDTH = 512
# How many images "Variations" makes.
VARIATIONS = 4
STATUS_LABELS = {
    "queued": "Queued",
    "generating": "Generating…",
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Cancelled",
}


def _ratio(size: str) -> float:
    width, _, height = size.partition("x")
    try:
        return int(height) / int(width)
    except (ValueError, ZeroDivisionError):
        return 1.0


def queue_labels(user_id: uuid.UUID | str, *, fresh: bool = False) -> dict[str, dict[str, str]]:
    """Place in line and estimate of each of the user's queued images, as card fields
    ({} when Redis cannot say: the card then just shows "Queued").
    """
    try:
        found = fair_queue.spots_for_user(
            get_redis(), user_id=user_id, settings=get_settings(), fresh=fresh
        )
    except redis.RedisError:
        log.warning("queue positions unavailable", exc_info=True)
        return {}
    return {
        image_id: {
            "queue_position": fair_queue.position_text(spot.position),
            "queue_eta": fair_queue.eta_text(spot.eta_seconds),
        }
        for image_id, spot in found.items()
    }


NO_SPOT = {"queue_position": "", "queue_eta": ""}


def fields(c: "Card") -> dict[str, str]:
    """The card as the plain str → str mapping it is at run time, for a state var that may
    also hold no card (`{}`).
    """
    return cast(dict[str, str], c)


def sort_key(created_at: datetime, image_id: uuid.UUID | str) -> str:
    """The gallery's order as one string (newest sorts last): UTC time to the microsecond,
    then the id, as the keyset pagination orders them; strings compare in the browser too.
    """
    if created_at.tzinfo is not None:
        created_at = created_at.astimezone(UTC)
    return f"{created_at:%Y%m%d%H%M%S%f}-{image_id}"


def parse_sort_key(key: str) -> tuple[datetime, uuid.UUID]:
    """The (created_at, id) cursor a `sort_key` stands for."""
    stamp, _, image_id = key.partition("-")
    return datetime.strptime(stamp, "%Y%m%d%H%M%S%f").replace(tzinfo=UTC), uuid.UUID(image_id)


class Card(TypedDict):
    """What one gallery card shows. A plain dict at run time (Reflex sends it as a JS object
    and the components index it by name), typed so a misspelt or missing field is an error
    for the type checker rather than a silent `""`.
    """

    id: str
    prompt: str
    status: str
    status_label: str
    url: str
    thumb: str
    download: str
    size: str
    quality: str
    style: str
    error: str
    created: str
    created_iso: str
    # The gallery's order (`sort_key`).
    key: str
    aspect: str
    # Width as a share of the height: the card's share of its gallery row (justified rows).
    grow: str
    # Height as a share of the width, for placeholders that keep the final shape.
    pad: str
    # "1" when the owner put a heart on it ("" otherwise: card fields are strings).
    favorite: str
    # The public link while the owner shares it ("" when private).
    share_url: str
    # While queued: "3rd in line" and "ready in about 40 s" ("" otherwise, or unknown).
    queue_position: str
    queue_eta: str
    # What Remake (1 image) and Variations (VARIATIONS images) cost.
    cost: str
    variations_cost: str


def card(image: Image, labels: dict[str, dict[str, str]] | None = None) -> Card:
    """What one gallery card shows; a queued one's place in line from `labels` (the user's
    `queue_labels`) when given, else looked up.
    """
    url = urls.backend(image.image_url or "")
    spot = NO_SPOT
    if image.status == "queued":
        spot = (labels if labels is not None else queue_labels(image.user_id)).get(
            str(image.id), NO_SPOT
        )
    return Card(
        id=str(image.id),
        prompt=image.prompt,
        status=image.status,
        status_label=STATUS_LABELS.get(image.status, image.status),
        url=url,
        thumb=get_storage().thumbnail_url(stored_url=url, width=THUMB_WIDTH) if url else "",
        download=urls.backend(image_download_url(image.id)),
        size=image.size,
        quality=image.quality,
        style=image.style or "",
        error=image.error or "",
        created=f"{image.created_at:%b %-d, %Y %H:%M}",
        created_iso=image.created_at.isoformat(),
        key=sort_key(image.created_at, image.id),
        aspect=image.size.replace("x", " / "),
        grow=f"{1 / _ratio(image.size):.3f}",
        pad=f"{100 * _ratio(image.size):.2f}%",
        favorite="1" if image.favorite else "",
        share_url=share_url(image.share_token) if image.share_token else "",
        queue_position=spot["queue_position"],
        queue_eta=spot["queue_eta"],
        cost=str(get_settings().image_cost(image.quality)),
        variations_cost=str(get_settings().image_cost(image.quality) * VARIATIONS),
    )


def share_url(token: str) -> str:
    """The public page of a shared image."""
    return urls.absolute_backend(share_path(token))


def credits_used_text(points: int) -> str:
    """The admin's view of a user's window: credits used, or the extra credits left when
    grants exceed what was used (never a negative "used").
    """
    return f"{points} used" if points >= 0 else f"{-points} extra left"


def credits_text(balance: Balance) -> dict[str, str | int]:
    """Credits left and when the window resets, for the header of the form."""
    resets = f"{balance.resets_at:%b %-d, %H:%M} UTC" if balance.resets_at else ""
    return {
        "left": balance.remaining,
        "limit": balance.limit,
        "extra": balance.extra,
        "resets": resets,
        "resets_iso": balance.resets_at.isoformat() if balance.resets_at else "",
    }
