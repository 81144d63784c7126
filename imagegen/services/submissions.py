"""One submit use case, for the home page's form and the REST API alike: admit the request
(plan rate, moderation), then in one transaction re-check who is asking, debit, insert the
queued rows and read the new balance; the jobs go out after the commit.
"""

import uuid
from dataclasses import dataclass

import redis

from imagegen.db import session_scope
from imagegen.models import Image, User
from imagegen.providers.moderation import Moderator
from imagegen.services import auth, feed, generation, intake
from imagegen.services.generation import GenerationRequest
from imagegen.services.jobs import Jobs
from imagegen.settings import Settings


@dataclass(frozen=True)
class Submitted:
    """The queued images (in order) and the user's balance after the debit."""

    images: list[Image]
    snapshot: feed.FeedSnapshot


def submit(
    *,
    request: GenerationRequest,
    user_id: uuid.UUID,
    plan: str | None,
    settings: Settings,
    client: redis.Redis,
    moderator: Moderator,
    jobs: Jobs,
    session_token: str | None = None,
    check_session: bool = True,
    source_image_id: uuid.UUID | None = None,
) -> Submitted | None:
    """Queue the request's images for the user.

    Args:
        request: the validated request.
        user_id: who submits (the tab's user, or the API key's owner).
        plan: the user's plan as the caller knows it, for the request rate; None reads it.
        settings: the process's settings.
        client: Redis, for the request rate.
        moderator: screens the prompt.
        jobs: where the images go after the commit.
        session_token: the tab's session cookie, re-checked in the transaction.
        check_session: False when the caller authenticated otherwise (an API key).
        source_image_id: Variations: the image they are drawn from, which must be one of the
            user's own completed images (checked in the transaction).

    Returns:
        The images and the new balance; None when the session no longer belongs to the user
        (revoked, expired, another user's cookie) or the user is gone.

    Raises:
        TooManyAttempts, ContentFlagged, ModerationUnavailable: refused before any debit.
        OutOfCredits, TooManyInProgress, InvalidInput: refused; nothing is kept.
        ImageNotFound: the source is not the user's own completed image; nothing is kept.
    """
    if plan is None:
        with session_scope() as db:
            found = db.get(User, user_id)
            plan = found.plan if found is not None else None
        if plan is None:
            return None
    # Outside the transaction: moderation may be an HTTP call.
    intake.admit(
        request, user_id=user_id, plan=plan, settings=settings, client=client, moderator=moderator
    )
    with session_scope() as db:
        if check_session:
            signed_in = auth.resolve_session(
                session=db, token=session_token, policy=auth.session_policy(settings)
            )
            user = signed_in.user if signed_in is not None else None
            if user is None or user.id != user_id:
                return None
        else:
            user = db.get(User, user_id)
            if user is None:
                return None
        owner, owner_plan = user.id, user.plan
        if source_image_id is not None:
            generation.variation_source(session=db, user_id=owner, image_id=source_image_id)
        images, balance = generation.queue_generation(
            session=db,
            user=user,
            request=request,
            settings=settings,
            source_image_id=source_image_id,
            enqueue=lambda ids: jobs.enqueue_generation(
                user_id=owner, plan=owner_plan, image_ids=ids
            ),
        )
        # The debit's own result is the new balance: no second read.
        snap = feed.FeedSnapshot(
            images=[], more=False, balance=balance, plan=user.plan, feed_key=user.feed_key
        )
    return Submitted(images=images, snapshot=snap)
