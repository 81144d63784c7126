"""One generation attempt, as the worker runs it: generating → provider → storage → completed.

Transient failures (rate limits, timeouts, 5xx, storage hiccups) propagate so the worker can
retry; on the final attempt, and for permanent failures, the image is failed and refunded.
"""

import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Row
from sqlmodel import Session

from imagegen.errors import ContentRejected, ImagegenError, ProviderUnavailable, StorageFailed
from imagegen.models import Image, ImageStatus
from imagegen.providers.image_generator import ImageGenerator
from imagegen.providers.image_storage import ImageStorage
from imagegen.services import generation
from imagegen.services.generation import GenerationRequest

log = logging.getLogger(__name__)

TRANSIENT = (ProviderUnavailable, StorageFailed)
Notify = Callable[[uuid.UUID, uuid.UUID], None]
SessionFactory = Callable[[], AbstractContextManager[Session]]


def storage_key(user_id: uuid.UUID, image_id: uuid.UUID) -> str:
    """Where an image's bytes live: one folder per user."""
    return f"{user_id}/{image_id}.png"


def fail(
    *, session_factory: SessionFactory, notify: Notify, image_id: uuid.UUID, reason: str
) -> bool:
    """Mark failed + refund (once); tell the user's tabs. False when it was already final."""
    with session_factory() as db:
        image = generation.fail_generation(session=db, image_id=image_id, reason=reason)
    if image is not None:
        notify(image.user_id, image.id)
    return image is not None


def _source_key(db: Session, image: Row[Any]) -> str | None:
    """`image`: the started row (`generation.start_generation`). Variations: the storage key of the image this one is drawn from, while it is still
    there (not deleted, still completed); None draws afresh.
    """
    if image.source_image_id is None:
        return None
    source = db.get(Image, image.source_image_id)
    if (
        source is None
        or source.user_id != image.user_id
        or source.deleted_at is not None
        or source.status != ImageStatus.COMPLETED
    ):
        return None
    return source.storage_key


def _source_bytes(storage: ImageStorage, key: str) -> bytes | None:
    """The source's PNG; None when its file is gone (removed meanwhile: draw afresh).

    Raises:
        StorageFailed: the storage did not answer (transient: retried).
    """
    try:
        return storage.read(key=key)
    except (FileNotFoundError, ValueError):
        log.info("variation source %s is gone: generating afresh", key)
        return None


def run_generation(
    *,
    image_id: uuid.UUID,
    generator: ImageGenerator,
    storage: ImageStorage,
    notify: Notify,
    session_factory: SessionFactory,
    timeout: float,
    final_attempt: bool,
    before_start: Callable[[], None] | None = None,
    check_first: bool = True,
    statement_factory: SessionFactory | None = None,
) -> str:
    """Run one attempt and return the outcome: skipped, completed, failed or discarded.

    `before_start` runs once the image is known to be unfinished and before it is marked
    generating (the worker waits there for the provider budget). With `check_first` False it
    runs without that check (one transaction fewer), for callers whose `before_start` never
    waits (no provider budget): an image found finished is then skipped as usual.

    `statement_factory` (default: `session_factory`) opens the sessions of the check and of
    the two moves (each one UPDATE … RETURNING, atomic by itself): the worker passes
    `db.statement_scope`, no transaction around them. Failing an image (status and refund
    together) always goes through `session_factory`.

    Raises:
        ProviderUnavailable, StorageFailed: transient, and this is not the final attempt.
        ProviderBusy: from `before_start`, when no provider slot frees in time.
    """
    one_statement = statement_factory or session_factory
    if before_start is not None:
        if check_first:
            with one_statement() as db:
                if not generation.is_unfinished(session=db, image_id=image_id):
                    return "skipped"
        before_start()
    with one_statement() as db:
        image = generation.start_generation(session=db, image_id=image_id)
        if image is None:
            return "skipped"  # completed, cancelled, failed or deleted: nothing to do
        user_id = image.user_id
        request = GenerationRequest(image.prompt, image.size, image.quality, 1, image.style)
        source_key = _source_key(db, image)
    notify(user_id, image_id)
    key = storage_key(user_id, image_id)
    try:
        source = _source_bytes(storage, source_key) if source_key else None
        made = generator.generate(
            prompt=request.model_prompt,
            size=request.size,
            quality=request.quality,
            timeout=timeout,
            seed=str(image_id),  # each image of a batch its own picture
            source=source,
        )
        stored = storage.put(key=key, data=made.data, content_type=made.content_type)
    except TRANSIENT as exc:
        if not final_attempt:
            log.info("image %s: transient failure, will retry: %s", image_id, exc)
            raise
        fail(
            session_factory=session_factory,
            notify=notify,
            image_id=image_id,
            reason=f"{exc} We tried several times and gave up.",
        )
        return "failed"
    except ContentRejected as exc:
        fail(session_factory=session_factory, notify=notify, image_id=image_id, reason=str(exc))
        return "failed"
    except ImagegenError as exc:
        fail(session_factory=session_factory, notify=notify, image_id=image_id, reason=str(exc))
        return "failed"

    with one_statement() as db:
        done = generation.complete_generation(
            session=db,
            image_id=image_id,
            image_url=stored.url,
            storage_key=stored.key,
            storage_file_id=stored.file_id,
            width=made.width,
            height=made.height,
            provider=generator.name,
        )
    if done is None:
        # Failed by the watchdog or deleted meanwhile: keep no orphan file.
        storage.delete(key=stored.key, file_id=stored.file_id)
        return "discarded"
    notify(user_id, image_id)
    return "completed"
