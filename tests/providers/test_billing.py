"""Billing port: polar-sdk against the Polar stand-in, and the not-configured implementation."""

from collections.abc import Iterator

import pytest

from imagegen.errors import BillingUnavailable
from imagegen.providers.billing import LocalBilling, PolarBilling, build_billing
from imagegen.settings import Settings
from tests.standins.polar_server import PolarStandIn


@pytest.fixture(scope="module")
def standin() -> Iterator[PolarStandIn]:
    with PolarStandIn() as server:
        yield server


@pytest.fixture
def billing(standin: PolarStandIn) -> PolarBilling:
    standin.failures.clear()
    return PolarBilling(access_token=standin.access_token, base_url=standin.base_url)


def test_checkout_url_and_request(billing: PolarBilling, standin: PolarStandIn) -> None:
    url = billing.create_checkout(
        product_id="prod_pro",
        customer_external_id="user-1",
        customer_email="ada@example.com",
        success_url="http://app/billing?checkout=success",
    )
    assert url.startswith(f"{standin.base_url}/checkout/")
    sent = standin.requests[-1]
    assert sent["path"] == "/v1/checkouts/"
    assert sent["headers"]["authorization"] == f"Bearer {standin.access_token}"
    assert sent["json"] == {
        "products": ["prod_pro"],
        "external_customer_id": "user-1",
        "customer_email": "ada@example.com",
        "success_url": "http://app/billing?checkout=success",
    }


def test_portal_url_and_request(billing: PolarBilling, standin: PolarStandIn) -> None:
    url = billing.create_portal_url(customer_external_id="user-1")
    assert url.startswith(f"{standin.base_url}/portal/")
    assert standin.requests[-1]["path"] == "/v1/customer-sessions/"
    assert standin.requests[-1]["json"] == {"external_customer_id": "user-1"}


@pytest.mark.parametrize("status", [500, 502])
def test_server_errors_are_billing_unavailable(
    billing: PolarBilling, standin: PolarStandIn, status: int
) -> None:
    standin.fail_next(status)
    with pytest.raises(BillingUnavailable, match="try again"):
        billing.create_portal_url(customer_external_id="user-1")


def test_bad_token_and_unreachable_server(standin: PolarStandIn) -> None:
    with pytest.raises(BillingUnavailable):
        PolarBilling(access_token="wrong", base_url=standin.base_url).create_checkout(
            product_id="p",
            customer_external_id="u",
            customer_email="a@b.co",
            success_url="http://x",
        )
    with pytest.raises(BillingUnavailable):
        PolarBilling(access_token="t", base_url="http://127.0.0.1:9").create_portal_url(
            customer_external_id="u"
        )


def test_local_billing_is_disabled() -> None:
    local = LocalBilling()
    assert local.enabled is False
    with pytest.raises(BillingUnavailable, match="not configured"):
        local.create_checkout(
            product_id="p", customer_external_id="u", customer_email="e", success_url="s"
        )
    with pytest.raises(BillingUnavailable, match="not configured"):
        local.create_portal_url(customer_external_id="u")


def test_build_billing_follows_the_token() -> None:
    base = {
        "database_url": "postgresql://x@127.0.0.1/x",
        "redis_url": "redis://127.0.0.1:6379/0",
        "secret_key": "k" * 40,
    }
    assert isinstance(build_billing(Settings(**base, polar_access_token=None)), LocalBilling)
    assert isinstance(
        build_billing(
            Settings(**base, polar_access_token="tok", polar_api_url="http://127.0.0.1:1")
        ),
        PolarBilling,
    )
