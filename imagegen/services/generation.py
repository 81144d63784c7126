"""Image generation: validate and submit (debit + rows + enqueue after commit), the worker's
status transitions, cancellation, the watchdog, and the owner-checked gallery queries.

Every transition is one conditional `UPDATE … WHERE status IN (…) RETURNING`, so a refund
happens at most once however often a message is redelivered or a watchdog races a worker.
"""

import logging
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis
from sqlalchemy import ColumnElement, Row, and_, func, or_, update
from sqlmodel import Session, col, select

from imagegen.db import after_commit
from imagegen.errors import ImageNotFound, InvalidInput, TooManyInProgress
from imagegen.models import ACTIVE_STATUSES, PLAN_LABELS, Image, ImageStatus, Plan, User, utcnow
from imagegen.redis_client import get_redis
from imagegen.services import credits, fair_queue
from imagegen.settings import Settings, get_settings

log = logging.getLogger(__name__)

SIZES = ("1024x1024", "1536x1024", "1024x1536")
QUALITIES = ("low", "medium", "high")
MAX_COUNT = 4
MAX_PROMPT = 4000

# Style presets: the label users pick and the words appended to their prompt.
STYLES: dict[str, str] = {
    "photo": "photorealistic, natural light, 35mm photograph",
    "illustration": "flat vector illustration, clean lines, vibrant colours",
    "anime": "anime style, cel shading, detailed background",
    "3d": "3D render, soft global illumination, octane",
    "watercolor": "watercolor painting, soft edges, paper texture",
    "pixel": "pixel art, 32-bit, crisp pixels",
}

Enqueue = Callable[[list[str]], None]


@dataclass(frozen=True)
class GenerationRequest:
    """A validated request from the prompt form (or the API)."""

    prompt: str
    size: str = "1024x1024"
    quality: str = "medium"
    count: int = 1
    style: str | None = None

    @property
    def model_prompt(self) -> str:
        """What the image model is asked: the prompt plus the style preset's words."""
        return f"{self.prompt}\n\nStyle: {STYLES[self.style]}" if self.style else self.prompt


def validate_prompt(raw: str) -> str:
    """Trim a prompt and check it: 1 to 4,000 characters, no control characters but newlines.

    Raises:
        InvalidInput: empty, too long, or with control characters.
    """
    prompt = raw.replace("\r\n", "\n").strip()
    if not prompt:
        raise InvalidInput("Describe the image you want: the prompt is empty.")
    if len(prompt) > MAX_PROMPT:
        raise InvalidInput(
            f"The prompt is {len(prompt):,} characters; the limit is {MAX_PROMPT:,}."
        )
    if any(
        (ord(c) < 32 and c not in "\n\t") or 127 <= ord(c) < 160 or 0xD800 <= ord(c) < 0xE000
        for c in prompt
    ):  # (lone surrogates come only from JSON escapes, and cannot be stored)
        raise InvalidInput("The prompt contains control characters; remove them and try again.")
    return prompt


def validate_request(
    *, prompt: str, size: str, quality: str, count: int, style: str | None
) -> GenerationRequest:
    """Check every option of a generation request.

    Raises:
        InvalidInput: an option is not one we offer.
    """
    if size not in SIZES:
        raise InvalidInput(f"Size must be one of {', '.join(SIZES)}.")
    if quality not in QUALITIES:
        raise InvalidInput("Quality must be low, medium or high.")
    if not 1 <= count <= MAX_COUNT:
        raise InvalidInput(f"You can make 1 to {MAX_COUNT} images at once.")
    style = style or None
    if style is not None and style not in STYLES:
        raise InvalidInput("Unknown style preset.")
    return GenerationRequest(validate_prompt(prompt), size, quality, count, style)


def request_cost(settings: Settings, request: GenerationRequest) -> int:
    """Credits the request costs."""
    return settings.image_cost(request.quality) * request.count


def _check_in_progress(session: Session, user: User, count: int, settings: Settings) -> None:
    """Refuse work beyond the plan's in-progress limit. The user row is locked first, so two
    submits of one user (two tabs, a double click) count one after the other.
    """
    session.execute(select(User.id).where(User.id == user.id).with_for_update())
    in_progress = session.scalar(
        select(func.count())
        .select_from(Image)
        .where(Image.user_id == user.id, col(Image.status).in_(ACTIVE_STATUSES))
    )
    limit = settings.in_progress_limit(user.plan)
    if (in_progress or 0) + count > limit:
        raise TooManyInProgress(
            in_progress=in_progress or 0, limit=limit, plan=PLAN_LABELS.get(user.plan, user.plan)
        )


def submit_generation(
    *,
    session: Session,
    user: User,
    request: GenerationRequest,
    settings: Settings,
    enqueue: Enqueue,
) -> list[Image]:
    """Debit the credits, insert one `queued` row per image, and enqueue them after commit.

    Raises:
        OutOfCredits: not enough credits; no row is kept (the caller's transaction rolls back).
        TooManyInProgress: the plan's limit of images queued or generating at once.
    """
    images, _balance = queue_generation(
        session=session, user=user, request=request, settings=settings, enqueue=enqueue
    )
    return images


def queue_generation(
    *,
    session: Session,
    user: User,
    request: GenerationRequest,
    settings: Settings,
    enqueue: Enqueue,
    source_image_id: uuid.UUID | None = None,
) -> tuple[list[Image], credits.Balance]:
    """`submit_generation`, also returning the balance the debit left (no second read).

    With `source_image_id` (Variations) the rows remember the image they are drawn from; the
    caller has checked it with `variation_source`.

    Raises:
        OutOfCredits: not enough credits; no row is kept (the caller's transaction rolls back).
        TooManyInProgress: the plan's limit of images queued or generating at once.
    """
    if settings.require_verified_email and user.plan == Plan.FREE and not user.email_verified:
        raise InvalidInput(
            "Confirm your email address to get your free credits: use the link we sent you, "
            "or send a new one from the banner above."
        )
    _check_in_progress(session, user, request.count, settings)
    cost_each = settings.image_cost(request.quality)
    images = [
        Image(
            user_id=user.id,
            prompt=request.prompt,
            size=request.size,
            quality=request.quality,
            style=request.style,
            cost=cost_each,
            source_image_id=source_image_id,
        )
        for _ in range(request.count)
    ]
    session.add_all(images)
    session.flush()
    balance = credits.debit(
        session=session,
        user_id=user.id,
        amount=cost_each * request.count,
        allowance=credits.plan_allowance(settings, user.plan),
        reason="generation",
        image_ids=[image.id for image in images],
    )
    ids = [str(image.id) for image in images]
    after_commit(session, lambda: enqueue(ids))
    return images, balance


def _transition(
    session: Session, image_id: uuid.UUID, from_statuses: Sequence[str], **values: object
) -> Image | None:
    """Move an image between statuses atomically; None when it was not in `from_statuses`."""
    stmt = (
        update(Image)
        .where(col(Image.id) == image_id, col(Image.status).in_(from_statuses))
        .values(updated_at=func.now(), **values)
        .returning(Image)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return session.execute(stmt).scalars().first()


def is_unfinished(*, session: Session, image_id: uuid.UUID) -> bool:
    """Worker: the image still waits to be made (queued, or generating when redelivered)."""
    status = session.scalar(select(Image.status).where(Image.id == image_id))
    return status in ACTIVE_STATUSES


_IMAGES = Image.__table__  # type: ignore[attr-defined]  # SQLModel tables have one
# What a worker needs to make the picture, returned by the same UPDATE that starts it.
_STARTED = (
    _IMAGES.c.user_id,
    _IMAGES.c.prompt,
    _IMAGES.c.size,
    _IMAGES.c.quality,
    _IMAGES.c.style,
    _IMAGES.c.source_image_id,
    _IMAGES.c.status,
    _IMAGES.c.attempts,
)


def _move(
    session: Session,
    image_id: uuid.UUID,
    from_statuses: Sequence[str],
    returning: Sequence[ColumnElement[object]],
    **values: object,
) -> Row[Any] | None:
    """`_transition` for the worker's hot path: one Core UPDATE … RETURNING of just the
    columns asked for (no ORM object is built; the session's copies are not refreshed).
    """
    stmt = (
        update(_IMAGES)
        .where(_IMAGES.c.id == image_id, _IMAGES.c.status.in_(from_statuses))
        .values(updated_at=func.now(), **values)
        .returning(*returning)
    )
    return session.execute(stmt).first()


def start_generation(*, session: Session, image_id: uuid.UUID) -> Row[Any] | None:
    """Worker: queued (or a redelivered generating) → generating; the row's user_id, prompt,
    size, quality, style, source_image_id, status and attempts. None: skip (terminal or gone).
    """
    return _move(
        session,
        image_id,
        ACTIVE_STATUSES,
        _STARTED,
        status=ImageStatus.GENERATING,
        attempts=_IMAGES.c.attempts + 1,
    )


def complete_generation(
    *,
    session: Session,
    image_id: uuid.UUID,
    image_url: str,
    storage_key: str,
    storage_file_id: str | None,
    width: int,
    height: int,
    provider: str,
) -> Row[Any] | None:
    """Worker: generating → completed; the row's status and completed_at. None: it was failed,
    cancelled or deleted meanwhile.
    """
    return _move(
        session,
        image_id,
        (ImageStatus.GENERATING,),
        (_IMAGES.c.status, _IMAGES.c.completed_at),
        status=ImageStatus.COMPLETED,
        image_url=image_url,
        storage_key=storage_key,
        storage_file_id=storage_file_id,
        width=width,
        height=height,
        provider=provider,
        error=None,
        completed_at=func.now(),
    )


def _refund_for(session: Session, image: Image, reason: str) -> None:
    credits.refund(
        session=session, user_id=image.user_id, amount=image.cost, reason=reason, image_id=image.id
    )


def fail_generation(*, session: Session, image_id: uuid.UUID, reason: str) -> Image | None:
    """Worker/watchdog: queued|generating → failed with a human reason, and refund once."""
    image = _transition(session, image_id, ACTIVE_STATUSES, status="failed", error=reason[:500])
    if image is not None:
        _refund_for(session, image, "refund: generation failed")
    return image


def _leave_line(session: Session, image: Image) -> None:
    """After commit, take a cancelled or deleted image out of the fair queue, so the
    positions behind it move up (best effort: a worker skips it anyway).
    """
    user_id, image_id = image.user_id, image.id

    def leave() -> None:
        try:
            fair_queue.remove(get_redis(), user_id=user_id, image_id=image_id)
        except redis.RedisError:
            log.warning("could not take image %s out of the queue", image_id, exc_info=True)

    after_commit(session, leave)


def cancel_generation(*, session: Session, user_id: uuid.UUID, image_id: uuid.UUID | str) -> Image:
    """Owner: queued → cancelled, and refund.

    Raises:
        ImageNotFound: not this user's image.
        InvalidInput: it is no longer queued.
    """
    owned = get_image(session=session, user_id=user_id, image_id=image_id)
    image = _transition(session, owned.id, (ImageStatus.QUEUED,), status="cancelled")
    if image is None:
        raise InvalidInput("Only images still in the queue can be cancelled.")
    _refund_for(session, image, "refund: cancelled")
    _leave_line(session, image)
    return image


def stop_for_delete(*, session: Session, image_id: uuid.UUID) -> Image | None:
    """Owner deleted an image still queued or generating: cancel it and refund now (an undo
    brings the card back cancelled, never charges again). None: it had already finished.
    """
    image = _transition(session, image_id, ACTIVE_STATUSES, status="cancelled")
    if image is not None:
        _refund_for(session, image, "refund: deleted before finishing")
        _leave_line(session, image)
    return image


def fail_stuck_generations(*, session: Session, older_than: timedelta) -> list[Image]:
    """Watchdog: fail and refund images queued/generating without progress for too long."""
    cutoff = utcnow() - older_than
    stuck = session.exec(
        select(Image.id).where(col(Image.status).in_(ACTIVE_STATUSES), Image.updated_at < cutoff)
    ).all()
    failed = []
    for image_id in stuck:
        image = fail_generation(
            session=session,
            image_id=image_id,
            reason="The image took too long to generate; your credits were refunded.",
        )
        if image is not None:
            failed.append(image)
    return failed


def get_image(*, session: Session, user_id: uuid.UUID, image_id: uuid.UUID | str) -> Image:
    """The user's image (a deleted one is gone, even while it can still be restored).

    Raises:
        ImageNotFound: no such image, or it belongs to someone else (the same answer).
    """
    try:
        key = image_id if isinstance(image_id, uuid.UUID) else uuid.UUID(str(image_id))
    except ValueError:
        raise ImageNotFound() from None
    image = session.exec(
        select(Image).where(
            Image.id == key, Image.user_id == user_id, col(Image.deleted_at).is_(None)
        )
    ).first()
    if image is None:
        raise ImageNotFound()
    return image


def variation_source(*, session: Session, user_id: uuid.UUID, image_id: uuid.UUID | str) -> Image:
    """The image Variations are drawn from: one of the user's own completed images.

    Raises:
        ImageNotFound: no such image, someone else's, deleted, or not completed (one answer).
    """
    image = get_image(session=session, user_id=user_id, image_id=image_id)
    if image.status != ImageStatus.COMPLETED or not image.storage_key:
        raise ImageNotFound()
    return image


def variation_request(source: Image, count: int) -> GenerationRequest:
    """Variations of `source`: its prompt and settings, `count` new images.

    Raises:
        InvalidInput: `count` is out of range.
    """
    return validate_request(
        prompt=source.prompt,
        size=source.size,
        quality=source.quality,
        count=count,
        style=source.style,
    )


def get_images(
    *, session: Session, user_id: uuid.UUID, image_ids: Sequence[uuid.UUID]
) -> list[Image]:
    """Several of the user's images by id (others' ids and deleted images are left out)."""
    if not image_ids:
        return []
    return list(
        session.exec(
            select(Image).where(
                col(Image.id).in_(image_ids),
                Image.user_id == user_id,
                col(Image.deleted_at).is_(None),
            )
        )
    )


def prompt_matches(search: str) -> ColumnElement[bool] | None:
    """The condition "the prompt has all these words", matching each word as typed (any
    language) or by its English stem ("cats" finds "cat", "running" finds "run"); None when
    there is nothing to search for.
    """
    words = " ".join(search.split())[:200]
    if not words:
        return None
    return or_(
        func.to_tsvector("simple", Image.prompt).op("@@")(func.plainto_tsquery("simple", words)),
        func.to_tsvector("english", Image.prompt).op("@@")(func.plainto_tsquery("english", words)),
    )


def page_size() -> int:
    """Images per gallery page (GALLERY_PAGE_SIZE)."""
    return get_settings().gallery_page_size


def list_images(
    *,
    session: Session,
    user_id: uuid.UUID,
    limit: int | None = None,
    before: tuple[datetime, uuid.UUID] | None = None,
    search: str = "",
    favorites: bool = False,
    oldest_first: bool = False,
) -> list[Image]:
    """The user's images, newest first, `limit` at a time (keyset pagination on created_at, id).

    Args:
        session: the caller's session.
        user_id: whose gallery.
        limit: how many (default: the gallery page size).
        before: the (created_at, id) of the last image already shown.
        search: words that must all appear in the prompt (as typed, or by English stem).
        favorites: only the images with a heart.
        oldest_first: the other order (`before` is then the newest image already shown).
    """
    stmt = select(Image).where(
        Image.user_id == user_id,
        col(Image.dismissed).is_(False),
        col(Image.deleted_at).is_(None),
    )
    if favorites:
        stmt = stmt.where(col(Image.favorite).is_(True))
    if before is not None:
        created_at, last_id = before
        if oldest_first:
            stmt = stmt.where(
                or_(
                    col(Image.created_at) > created_at,
                    and_(col(Image.created_at) == created_at, col(Image.id) > last_id),
                )
            )
        else:
            stmt = stmt.where(
                or_(
                    col(Image.created_at) < created_at,
                    and_(col(Image.created_at) == created_at, col(Image.id) < last_id),
                )
            )
    matches = prompt_matches(search)
    if matches is not None:
        stmt = stmt.where(matches)
    if oldest_first:
        stmt = stmt.order_by(col(Image.created_at).asc(), col(Image.id).asc())
    else:
        stmt = stmt.order_by(col(Image.created_at).desc(), col(Image.id).desc())
    return list(session.exec(stmt.limit(page_size() if limit is None else limit)))


def neighbours(*, session: Session, image: Image) -> tuple[Image | None, Image | None]:
    """The images either side of `image` in its owner's gallery order (newest first): the
    newer one (previous) and the older one (next); None at either end.
    """
    shown = select(Image).where(Image.user_id == image.user_id, col(Image.dismissed).is_(False))
    at, key = image.created_at, image.id
    newer = session.exec(
        shown.where(
            or_(
                col(Image.created_at) > at,
                and_(col(Image.created_at) == at, col(Image.id) > key),
            )
        )
        .order_by(col(Image.created_at).asc(), col(Image.id).asc())
        .limit(1)
    ).first()
    older = list_images(session=session, user_id=image.user_id, limit=1, before=(at, key))
    return newer, older[0] if older else None


def delete_image(
    *,
    session: Session,
    user_id: uuid.UUID,
    image_id: uuid.UUID | str,
    delete_file: Callable[[str, str | None], None],
) -> Image:
    """Delete the user's image; refund it if it had not finished; remove its file after commit.

    Raises:
        ImageNotFound: not this user's image.
    """
    image = get_image(session=session, user_id=user_id, image_id=image_id)
    purge_image(session=session, image=image, delete_file=delete_file)
    return image


def purge_image(
    *, session: Session, image: Image, delete_file: Callable[[str, str | None], None]
) -> None:
    """Remove an image for good: refund it if it had not finished, delete the row, and its
    file after commit (a deleted image's own path, and `delete_image`'s).
    """
    if image.status in ACTIVE_STATUSES:
        _refund_for(session, image, "refund: deleted before finishing")
        _leave_line(session, image)
    session.delete(image)
    session.flush()
    if image.storage_key:
        key, file_id = image.storage_key, image.storage_file_id
        after_commit(session, lambda: delete_file(key, file_id))


def dismiss_image(*, session: Session, user_id: uuid.UUID, image_id: uuid.UUID | str) -> Image:
    """Hide a failed or cancelled image from the gallery.

    Raises:
        ImageNotFound: not this user's image.
        InvalidInput: the image is not failed or cancelled.
    """
    image = get_image(session=session, user_id=user_id, image_id=image_id)
    if image.status not in (ImageStatus.FAILED, ImageStatus.CANCELLED):
        raise InvalidInput("Only failed or cancelled images can be dismissed.")
    image.dismissed = True
    session.add(image)
    return image


def share_image(*, session: Session, user_id: uuid.UUID, image_id: uuid.UUID | str) -> Image:
    """Owner: give a completed image a public link `/s/<token>` (kept if already shared).

    Raises:
        ImageNotFound: not this user's image.
        InvalidInput: it is not completed.
    """
    image = get_image(session=session, user_id=user_id, image_id=image_id)
    if image.status != "completed":
        raise InvalidInput("Only finished images can be shared.")
    if image.share_token is None:
        image.share_token = secrets.token_urlsafe(24)
        image.shared_at = utcnow()
        session.add(image)
        session.flush()
    return image


def stop_sharing(*, session: Session, user_id: uuid.UUID, image_id: uuid.UUID | str) -> Image:
    """Owner: end the public link; it answers 404 from now on (sharing again makes a new one).

    Raises:
        ImageNotFound: not this user's image.
    """
    image = get_image(session=session, user_id=user_id, image_id=image_id)
    image.share_token, image.shared_at = None, None
    session.add(image)
    session.flush()
    return image


def get_shared(*, session: Session, token: str) -> Image | None:
    """The completed image a public link points at, or None (never shared, stopped, deleted)."""
    if not token or len(token) > 64:
        return None
    return session.exec(
        select(Image).where(
            Image.share_token == token,
            Image.status == "completed",
            col(Image.deleted_at).is_(None),
        )
    ).first()
