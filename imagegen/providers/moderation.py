"""Moderation port: OpenAI's moderation endpoint through the `openai` SDK (or any compatible
endpoint) when a key is configured; without one, only the service's blocklist applies.
"""

from typing import Protocol

import openai

from imagegen.errors import ModerationUnavailable


class Moderator(Protocol):
    """Says whether a text breaks the content rules."""

    name: str

    def flagged_categories(self, text: str) -> list[str]:
        """The categories the text is flagged for ([] when it is fine).

        Raises:
            ModerationUnavailable: the check could not be made (the caller refuses for now).
        """
        ...


class OpenAIModerator:
    """`client.moderations.create` with omni-moderation."""

    name = "openai"

    def __init__(
        self, *, api_key: str, base_url: str | None = None, model: str = "omni-moderation-latest"
    ) -> None:
        """`base_url` points the SDK at another server (a local stand-in in tests)."""
        self.model = model
        self.client = openai.OpenAI(api_key=api_key, base_url=base_url, max_retries=1, timeout=10)

    def flagged_categories(self, text: str) -> list[str]:
        """Ask the endpoint; categories come back as OpenAI names them (e.g. violence/graphic)."""
        try:
            result = self.client.moderations.create(model=self.model, input=text).results[0]
        except openai.APIError as exc:
            raise ModerationUnavailable() from exc
        if not result.flagged:
            return []
        categories = result.categories.model_dump(by_alias=True)
        return sorted(name for name, hit in categories.items() if hit) or ["unspecified"]


class NoRemoteModerator:
    """No moderation endpoint configured: nothing is flagged here (the blocklist still runs)."""

    name = "none"

    def flagged_categories(self, text: str) -> list[str]:  # noqa: ARG002 (the port's signature)
        """Nothing."""
        return []
