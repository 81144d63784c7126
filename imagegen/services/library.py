"""A user's library: favorites, delete with undo (soft delete, purged later by the
watchdog), recent prompts, and the "email me when a long job finishes" sweep.

Every function takes the owner's id and answers "not found" for anyone else's image ids
(the same answer as for ids that do not exist), all or nothing.
"""

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from imagegen.errors import ImageNotFound, InvalidInput
from imagegen.models import Image, User, utcnow
from imagegen.services import generation
from imagegen.services.accounts import Outgoing

MAX_BATCH = 1000
RECENT_PROMPTS = 8
# How far back the prompt suggestions look (the newest images of the user).
PROMPT_HISTORY_DEPTH = 500


def parse_ids(raw_ids: Sequence[uuid.UUID | str]) -> list[uuid.UUID]:
    """Distinct image ids in the order given.

    Raises:
        InvalidInput: none, more than MAX_BATCH.
        ImageNotFound: one is not an id at all (it cannot be one of the user's images).
    """
    if not raw_ids:
        raise InvalidInput("Select at least one image.")
    if len(raw_ids) > MAX_BATCH:
        raise InvalidInput(f"Select at most {MAX_BATCH:,} images at once.")
    ids: dict[uuid.UUID, None] = {}
    for raw in raw_ids:
        try:
            ids[raw if isinstance(raw, uuid.UUID) else uuid.UUID(str(raw))] = None
        except ValueError:
            raise ImageNotFound() from None
    return list(ids)


def owned_images(
    *, session: Session, user_id: uuid.UUID, image_ids: Sequence[uuid.UUID | str]
) -> list[Image]:
    """The user's images with these ids, in the order given, locked for update.

    Raises:
        ImageNotFound: any id is not one of the user's (deleted ones included): nothing changes.
        InvalidInput: no ids, or too many.
    """
    ids = parse_ids(image_ids)
    found = {
        image.id: image
        for image in session.exec(
            select(Image)
            .where(
                col(Image.id).in_(ids),
                col(Image.user_id) == user_id,
                col(Image.deleted_at).is_(None),
            )
            .with_for_update()
        )
    }
    if len(found) != len(ids):
        raise ImageNotFound()
    return [found[image_id] for image_id in ids]


def set_favorite(
    *,
    session: Session,
    user_id: uuid.UUID,
    image_ids: Sequence[uuid.UUID | str],
    favorite: bool,
) -> list[Image]:
    """Put a heart on (or take it off) the user's images.

    Raises:
        ImageNotFound: any id is not one of the user's: nothing changes.
        InvalidInput: no ids, or too many.
    """
    images = owned_images(session=session, user_id=user_id, image_ids=image_ids)
    for image in images:
        image.favorite = favorite
        session.add(image)
    session.flush()
    return images


def delete_images(
    *, session: Session, user_id: uuid.UUID, image_ids: Sequence[uuid.UUID | str]
) -> list[Image]:
    """Delete the user's images so they can still be restored for a while ("Undo"): hidden
    everywhere at once (gallery, share links, files), removed for good by the watchdog after
    UNDO_DELETE_SECONDS. An image still queued or generating is cancelled and refunded now.

    Raises:
        ImageNotFound: any id is not one of the user's: nothing is deleted.
        InvalidInput: no ids, or too many.
    """
    images = owned_images(session=session, user_id=user_id, image_ids=image_ids)
    now = utcnow()
    for image in images:
        generation.stop_for_delete(session=session, image_id=image.id)
    session.execute(
        update(Image)
        .where(col(Image.id).in_([image.id for image in images]))
        .values(deleted_at=now)
        .execution_options(synchronize_session=False)
    )
    for image in images:
        session.refresh(image)
    return images


def restore_images(
    *,
    session: Session,
    user_id: uuid.UUID,
    image_ids: Sequence[uuid.UUID | str],
    window: timedelta,
) -> list[Image]:
    """Undo a delete: bring back the user's images deleted less than `window` ago.

    Raises:
        ImageNotFound: any id is not a deleted image of the user's that can still be
            restored: nothing is restored.
        InvalidInput: no ids, or too many.
    """
    ids = parse_ids(image_ids)
    restored = list(
        session.execute(
            update(Image)
            .where(
                col(Image.id).in_(ids),
                col(Image.user_id) == user_id,
                col(Image.deleted_at) >= utcnow() - window,
            )
            .values(deleted_at=None)
            .returning(Image)
            .execution_options(synchronize_session=False, populate_existing=True)
        ).scalars()
    )
    if len(restored) != len(ids):
        raise ImageNotFound("These images can no longer be restored.")
    return restored


def purge_deleted(
    *,
    session: Session,
    older_than: timedelta,
    delete_file: Callable[[str, str | None], None],
    limit: int = 500,
) -> list[Image]:
    """Watchdog: remove images deleted longer than `older_than` ago for good (the row now,
    the file after commit). Rows another sweep holds are skipped, so two watchdogs agree.
    """
    due = list(
        session.exec(
            select(Image)
            .where(col(Image.deleted_at) < utcnow() - older_than)
            .order_by(col(Image.deleted_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for image in due:
        generation.purge_image(session=session, image=image, delete_file=delete_file)
    return due


def recent_prompts(
    *, session: Session, user_id: uuid.UUID, typed: str = "", limit: int = RECENT_PROMPTS
) -> list[str]:
    """The user's most recent distinct prompts (newest first) for the prompt box; with
    `typed`, only those containing it (case-insensitive), those starting with it first.
    """
    recent = (
        select(Image.prompt, Image.created_at)
        .where(Image.user_id == user_id, col(Image.deleted_at).is_(None))
        .order_by(col(Image.created_at).desc())
        .limit(PROMPT_HISTORY_DEPTH)
        .subquery()
    )
    last_used = func.max(recent.c.created_at)
    stmt = select(recent.c.prompt).group_by(recent.c.prompt)
    needle = " ".join(typed.split())[:200]
    if needle:
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(recent.c.prompt.ilike(f"%{escaped}%", escape="\\"))
        starts = func.bool_or(recent.c.prompt.ilike(f"{escaped}%", escape="\\"))
        stmt = stmt.order_by(starts.desc(), last_used.desc())
    else:
        stmt = stmt.order_by(last_used.desc())
    return [prompt for prompt in session.exec(stmt.limit(limit)) if prompt != needle]


def done_emails(
    *, session: Session, long_job: timedelta, app_url: str, now: datetime | None = None
) -> list[Outgoing]:
    """Watchdog: one email per user who asked for it, about their images that finished in
    the last hour after taking longer than `long_job` (each image is announced once, even
    with two watchdogs).
    """
    now = now or utcnow()
    announced = session.execute(
        update(Image)
        .where(
            col(Image.user_id) == User.id,
            col(User.email_when_done).is_(True),
            col(Image.status) == "completed",
            col(Image.completed_at) >= now - timedelta(hours=1),
            col(Image.completed_at) - col(Image.created_at) >= long_job,
            col(Image.emailed_at).is_(None),
            col(Image.deleted_at).is_(None),
        )
        .values(emailed_at=now)
        .returning(col(User.email), col(User.name), col(Image.prompt))
        .execution_options(synchronize_session=False)
    ).all()
    by_user: dict[tuple[str, str], list[str]] = {}
    for email, name, prompt in announced:
        by_user.setdefault((email, name), []).append(prompt)
    messages = []
    for (email, name), prompts in by_user.items():
        count = len(prompts)
        listed = "\n".join(f"  • {' '.join(p.split())[:120]}" for p in prompts[:10])
        more = f"\n  … and {count - 10} more" if count > 10 else ""
        messages.append(
            Outgoing(
                to=email,
                subject=f"Your image{'s are' if count > 1 else ' is'} ready",
                text=(
                    f"Hi {name},\n\n"
                    f"{count} image{'s' if count > 1 else ''} you asked for "
                    f"{'are' if count > 1 else 'is'} ready:\n{listed}{more}\n\n"
                    f"See {'them' if count > 1 else 'it'} in your gallery: {app_url}/\n\n"
                    'You get this email because you turned on "Email me when a long job '
                    'finishes" on your account page; turn it off there.\n'
                ),
            )
        )
    return messages


def set_email_when_done(*, session: Session, user_id: uuid.UUID, enabled: bool) -> None:
    """The Account page's "Email me when a long job finishes" setting."""
    user = session.get(User, user_id)
    if user is not None:
        user.email_when_done = enabled
        session.add(user)
        session.flush()
