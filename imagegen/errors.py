"""Typed errors with a message that is safe to show to the user."""

from datetime import datetime


class ImagegenError(Exception):
    """Base error; `str(error)` is meant for the user."""

    message = "Something went wrong."

    def __init__(self, message: str | None = None) -> None:
        """Use the class message unless a more specific one is given."""
        super().__init__(message or self.message)


class InvalidInput(ImagegenError):
    """The user sent something we cannot accept; the message says what."""


class InvalidCredentials(ImagegenError):
    """Wrong email or password (never says which)."""

    message = "Invalid email or password."


class TooManyAttempts(ImagegenError):
    """Throttled; the message says when to try again."""

    message = "Too many failed attempts. Please wait a few minutes and try again."


class EmailTaken(ImagegenError):
    """Registration with an email that already has an account."""

    message = "An account with this email already exists. Sign in instead."


class ProviderUnavailable(ImagegenError):
    """A transient failure of an outside system (rate limit, timeout, 5xx, connection): retry."""

    message = "The image service is busy. Please try again."


class ContentRejected(ImagegenError):
    """The provider refused the prompt or image on policy grounds: never retried."""

    message = "The image service refused this prompt."


class StorageFailed(ImagegenError):
    """Storing or deleting image bytes failed."""

    message = "The image could not be stored."


class OutOfCredits(ImagegenError):
    """The debit would exceed the plan's allowance for the current window."""

    message = "Out of credits."

    def __init__(self, *, needed: int, remaining: int, resets_at: "datetime | None") -> None:
        """Keep the numbers the UI shows (when the window resets)."""
        self.needed, self.remaining, self.resets_at = needed, remaining, resets_at
        when = f" Credits reset at {resets_at:%H:%M} UTC." if resets_at else ""
        super().__init__(f"Out of credits: this needs {needed}, you have {remaining} left.{when}")


class TooManyInProgress(ImagegenError):
    """The plan's limit of images queued or generating at once would be exceeded."""

    message = "Too many images in progress."

    def __init__(self, *, in_progress: int, limit: int, plan: str) -> None:
        """Say how many run, what the plan allows, and what to do."""
        self.in_progress, self.limit = in_progress, limit
        waiting = f"You have {in_progress} image{'s' if in_progress != 1 else ''} in progress"
        super().__init__(
            f"{waiting}; the {plan} plan makes up to {limit} at once. "
            "Wait for some to finish, or ask for fewer."
        )


class ImageNotFound(ImagegenError):
    """No such image for this user (also what another user's image looks like)."""

    message = "Image not found."


class BillingUnavailable(ImagegenError):
    """Billing is not configured, or Polar could not be reached."""

    message = "Billing is not available right now. Please try again later."


class ContentFlagged(InvalidInput):
    """The prompt breaks the content rules (blocklist or moderation); nothing was charged."""

    message = "This prompt is not allowed. Nothing was charged."


class ModerationUnavailable(ImagegenError):
    """The moderation endpoint could not be asked; refuse for now rather than skip it."""

    message = "We could not check your prompt just now. Nothing was charged; try again shortly."


class CollectionNotFound(ImagegenError):
    """No such collection for this user (also what another user's collection looks like)."""

    message = "Collection not found."


class ExportNotFound(ImagegenError):
    """No such export for this user, or its link has expired."""

    message = "This export does not exist or its link has expired."


class ExportInProgress(ImagegenError):
    """An export of the user's data is already being prepared."""

    message = "Your export is already being prepared; we will tell you when it is ready."
