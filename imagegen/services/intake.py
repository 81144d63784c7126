"""What every generation request passes before its transaction, from the app's form and the
REST API alike: the plan's rate of requests, then moderation. (The caller has checked the
session or key; `generation.submit_generation` then checks the in-progress limit and the
credits under a lock.) Kept out of the transaction: moderation may be an HTTP call.
"""

import uuid

import redis

from imagegen.providers.moderation import Moderator
from imagegen.services import moderation
from imagegen.services.generation import GenerationRequest
from imagegen.services.throttle import generation_rate
from imagegen.settings import Settings


def admit(
    request: GenerationRequest,
    *,
    user_id: uuid.UUID | str,
    plan: str,
    settings: Settings,
    client: redis.Redis,
    moderator: Moderator,
) -> None:
    """Count the request against the plan's rate, then screen its prompt.

    Raises:
        TooManyAttempts: over the plan's generation requests per minute.
        ContentFlagged: refused by the blocklist or the moderation endpoint.
        ModerationUnavailable: the moderation endpoint could not be asked.
    """
    generation_rate(settings, plan).hit(client, str(user_id))
    moderation.check_prompt(request.model_prompt, moderator=moderator, settings=settings)
