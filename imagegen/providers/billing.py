"""Billing port: Polar checkouts and the customer portal through polar-sdk, or none at all."""

from typing import Protocol

import polar
from polar.v2026_10.client import Polar

from imagegen.errors import BillingUnavailable
from imagegen.settings import Settings


class Billing(Protocol):
    """Sells the paid plans."""

    enabled: bool

    def create_checkout(
        self, *, product_id: str, customer_external_id: str, customer_email: str, success_url: str
    ) -> str:
        """A checkout URL to send the browser to.

        Raises:
            BillingUnavailable: not configured, or Polar failed.
        """
        ...

    def create_portal_url(self, *, customer_external_id: str) -> str:
        """The customer portal URL of this customer.

        Raises:
            BillingUnavailable: not configured, or Polar failed.
        """
        ...


class PolarBilling:
    """Polar's API through polar-sdk (`checkouts.create`, `customer_sessions.create`)."""

    enabled = True

    def __init__(
        self, *, access_token: str, server: str = "sandbox", base_url: str | None = None
    ) -> None:
        """`server` is sandbox or production; `base_url` overrides it (a gateway, a stand-in)."""
        self.client = Polar(
            access_token,
            environment="production" if server == "production" else "sandbox",
            base_url=base_url or None,
            timeout=15.0,
        )

    def create_checkout(
        self, *, product_id: str, customer_external_id: str, customer_email: str, success_url: str
    ) -> str:
        """Create a checkout for one product, tied to our user id."""
        try:
            checkout = self.client.checkouts.create(
                products=[product_id],
                external_customer_id=customer_external_id,
                customer_email=customer_email,
                success_url=success_url,
            )
        except polar.PolarError as exc:
            raise BillingUnavailable(
                "Polar could not start a checkout right now. Please try again in a minute."
            ) from exc
        return checkout.url

    def create_portal_url(self, *, customer_external_id: str) -> str:
        """Create a customer session and return its portal URL."""
        try:
            session = self.client.customer_sessions.create(
                external_customer_id=customer_external_id
            )
        except polar.PolarError as exc:
            raise BillingUnavailable(
                "Polar could not open the billing portal right now. Please try again in a minute."
            ) from exc
        return session.customer_portal_url


class LocalBilling:
    """No billing: the page shows the plans and says so."""

    enabled = False

    def create_checkout(
        self,
        *,
        product_id: str,  # noqa: ARG002 (the port's signature)
        customer_external_id: str,  # noqa: ARG002
        customer_email: str,  # noqa: ARG002
        success_url: str,  # noqa: ARG002
    ) -> str:
        """Refuse: nothing to sell without Polar."""
        raise BillingUnavailable("Billing is not configured on this server.")

    def create_portal_url(self, *, customer_external_id: str) -> str:  # noqa: ARG002
        """Refuse: no portal without Polar."""
        raise BillingUnavailable("Billing is not configured on this server.")


def build_billing(settings: Settings) -> Billing:
    """Polar with POLAR_ACCESS_TOKEN, no billing without."""
    if settings.polar_access_token:
        return PolarBilling(
            access_token=settings.polar_access_token,
            server=settings.polar_server,
            base_url=settings.polar_api_url,
        )
    return LocalBilling()
