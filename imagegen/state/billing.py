"""The billing page: plans, checkout and the customer portal (Polar)."""

import asyncio
import uuid

import reflex as rx

from imagegen import routes
from imagegen.db import session_scope
from imagegen.errors import ImagegenError
from imagegen.models import User
from imagegen.providers.billing import Billing
from imagegen.providers.compose import get_providers
from imagegen.services import billing_events
from imagegen.settings import get_settings
from imagegen.state.auth import AuthState

PLAN_FOR_BUTTON = {"pro": "pro_user", "gold": "gold_user"}


def _billing() -> Billing:
    return get_providers().billing


def _subscription_text(user_id: str) -> str:
    """The renewal line: Renews on … or Ends on … (empty without a paid subscription)."""
    with session_scope() as db:
        sub = billing_events.get_subscription(session=db, user_id=uuid.UUID(user_id))
    if sub is None or sub.plan == "free_user" or sub.current_period_end is None:
        return ""
    when = f"{sub.current_period_end:%B %-d, %Y}"
    return f"Ends on {when}" if sub.cancel_at_period_end else f"Renews on {when}"


def _checkout_url(user_id: str, plan: str) -> str:
    settings = get_settings()
    product = {
        "pro_user": settings.polar_pro_product_id,
        "gold_user": settings.polar_gold_product_id,
    }[plan]
    if not product:
        raise ImagegenError("This plan is not for sale yet.")
    with session_scope() as db:
        user = db.get(User, uuid.UUID(user_id))
        if user is None:
            raise ImagegenError("Your account no longer exists.")
        email = user.email
    return _billing().create_checkout(
        product_id=product,
        customer_external_id=user_id,
        customer_email=email,
        success_url=f"{settings.app_url}{routes.BILLING}?checkout=success",
    )


def _portal_url(user_id: str) -> str:
    return _billing().create_portal_url(customer_external_id=user_id)


class BillingState(AuthState):
    """Plan cards and the actions that leave for Polar."""

    # "Renews on …" / "Ends on …" ("" without a paid subscription).
    renewal: str = ""
    # Shown after Polar sends the user back from a successful checkout.
    checkout_success: bool = False
    # Which button is waiting for Polar ("pro", "gold", "portal" or "").
    busy: str = ""
    error: str = ""

    @rx.var
    def billing_enabled(self) -> bool:
        """Polar is configured (POLAR_ACCESS_TOKEN)."""
        return bool(get_settings().polar_access_token)

    @rx.event
    async def load(self) -> None:
        """on_load: the subscription line and the checkout result."""
        self.checkout_success = self.router.url.query_parameters.get("checkout") == "success"
        self.error, self.busy = "", ""
        if self._user_id:
            self.renewal = await asyncio.to_thread(_subscription_text, self._user_id)

    @rx.event
    async def upgrade(self, plan: str):
        """Create a Polar checkout for Pro or Gold and send the browser there.

        Args:
            plan: "pro" or "gold".
        """
        if plan not in PLAN_FOR_BUTTON or not await self._refresh_user():
            return
        self.busy, self.error = plan, ""
        yield
        try:
            url = await asyncio.to_thread(_checkout_url, self._user_id, PLAN_FOR_BUTTON[plan])
        except ImagegenError as exc:
            self.busy, self.error = "", str(exc)
            return
        yield rx.redirect(url, is_external=False)

    @rx.event
    async def manage(self):
        """Open Polar's customer portal for this user."""
        if not await self._refresh_user():
            return
        self.busy, self.error = "portal", ""
        yield
        try:
            url = await asyncio.to_thread(_portal_url, self._user_id)
        except ImagegenError as exc:
            self.busy, self.error = "", str(exc)
            return
        yield rx.redirect(url, is_external=False)
