"""OAuth sign-in with the real authlib client against a local provider stand-in."""

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from imagegen import routes
from imagegen.db import session_scope
from imagegen.http.app import build_api
from imagegen.models import Account, User
from imagegen.providers.oauth import configured_providers
from imagegen.redis_client import get_redis
from imagegen.services import flash
from imagegen.settings import load_settings
from tests.fixtures.users import create_user, unique_email
from tests.standins.oauth_server import OAuthStandIn, Person

pytestmark = pytest.mark.usefixtures("engine", "redis_client")


@pytest.fixture(scope="module")
def provider() -> Iterator[OAuthStandIn]:
    with OAuthStandIn() as server:
        yield server


@pytest.fixture
def client(provider: OAuthStandIn, swap_ports) -> TestClient:
    settings = load_settings(**{k.lower(): v for k, v in provider.env().items()})
    swap_ports(oauth=configured_providers(settings))
    provider.deny = False
    return TestClient(build_api(), base_url="http://localhost:3000", follow_redirects=False)


def sign_in_with(client: TestClient, name: str, *, state: str | None = None) -> httpx.Response:
    """Start, follow the provider's consent redirect (a real HTTP hop), return our callback answer."""
    start = client.get(routes.oauth_start(name))
    assert start.status_code == 302
    query = parse_qs(urlsplit(start.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["state"]
    consent = httpx.get(start.headers["location"], follow_redirects=False)
    callback = urlsplit(consent.headers["location"])
    params = parse_qs(callback.query)
    if state is not None:
        params["state"] = [state]
    return client.get(callback.path, params={k: v[0] for k, v in params.items()})


def error_of(response: httpx.Response) -> str:
    assert response.headers["location"].startswith("/login?flash=")
    return flash.pop(get_redis(), response.headers["location"].split("flash=")[1]) or ""


@pytest.mark.parametrize("name", ["github", "google"])
def test_new_user_is_created_verified_and_signed_in(client, provider, name: str) -> None:
    provider.person = Person(
        id=f"{name}-{unique_email()[:8]}",
        name="Octo Cat",
        email=unique_email("octo"),
        verified=True,
    )
    response = sign_in_with(client, name)
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert "HttpOnly" in response.headers["set-cookie"]
    with session_scope() as db:
        user = db.exec(select(User).where(User.email == provider.person.email)).one()
        assert user.email_verified and user.name == "Octo Cat"
        account = db.exec(select(Account).where(Account.user_id == user.id)).one()
        assert (account.provider_id, account.account_id) == (name, provider.person.id)
    # The token request carried the PKCE verifier.
    token_request = [r for r in provider.requests if "token" in r["path"]][-1]
    assert token_request["form"]["code_verifier"]


def test_verified_email_links_to_the_existing_user(client, provider) -> None:
    email = unique_email("linker")
    with session_scope() as db:
        user_id = create_user(db, email=email).id
    provider.person = Person(id="linker-1", email=email.upper(), verified=True)
    assert sign_in_with(client, "github").headers["location"] == "/"
    with session_scope() as db:
        providers = {
            a.provider_id for a in db.exec(select(Account).where(Account.user_id == user_id))
        }
        assert providers == {"credential", "github"}
    # Next time the link itself is used, whatever the email says.
    provider.person = Person(id="linker-1", email=unique_email("changed"), verified=False)
    assert sign_in_with(client, "github").headers["location"] == "/"


def test_unverified_email_never_links(client, provider) -> None:
    email = unique_email("victim")
    with session_scope() as db:
        user_id = create_user(db, email=email).id
    provider.person = Person(id="attacker-1", email=email, verified=False)
    message = error_of(sign_in_with(client, "github"))
    assert "not verified" in message
    with session_scope() as db:
        assert {
            a.provider_id for a in db.exec(select(Account).where(Account.user_id == user_id))
        } == {"credential"}


def test_denied_consent_says_so(client, provider) -> None:
    provider.deny = True
    assert error_of(sign_in_with(client, "google")) == "Sign-in with Google was cancelled."


def test_forged_state_is_refused(client, provider) -> None:
    provider.person = Person(id="forged-1", email=unique_email("forged"), verified=True)
    message = error_of(sign_in_with(client, "github", state="forged-state"))
    assert "expired or was not started here" in message
    with session_scope() as db:
        assert db.exec(select(User).where(User.email == provider.person.email)).first() is None


def test_unconfigured_provider_is_404(client) -> None:
    assert client.get(routes.oauth_start("myspace")).status_code == 404


def test_provider_down_is_a_clear_error(client, provider, swap_ports) -> None:
    settings = load_settings(
        **{
            **{k.lower(): v for k, v in provider.env().items()},
            "github_api_url": "http://127.0.0.1:9",
        }
    )
    swap_ports(oauth=configured_providers(settings))
    provider.person = Person(id="down-1", email=unique_email("down"), verified=True)
    assert "failed" in error_of(sign_in_with(client, "github"))


def test_linking_from_the_account_page(client, provider) -> None:
    email = unique_email("linking")
    with session_scope() as db:
        user_id = create_user(db, email=email).id
    login = client.post(routes.API_LOGIN, data={"email": email, "password": "crunchy-armchair-42"})
    client.cookies.set(
        routes.SESSION_COOKIE, login.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    )
    provider.person = Person(id="link-me-7", email=unique_email("elsewhere"), verified=False)
    start = client.get(routes.oauth_start("google"), params={"link": "1"})
    consent = httpx.get(start.headers["location"], follow_redirects=False)
    callback = urlsplit(consent.headers["location"])
    done = client.get(callback.path, params={k: v[0] for k, v in parse_qs(callback.query).items()})
    assert done.headers["location"].startswith("/account?flash=")
    assert (
        flash.pop(get_redis(), done.headers["location"].split("flash=")[1])
        == "Google is now linked."
    )
    with session_scope() as db:
        assert {
            a.provider_id for a in db.exec(select(Account).where(Account.user_id == user_id))
        } == {"credential", "google"}


def test_linking_needs_a_session(client) -> None:
    anonymous = TestClient(build_api(), base_url="http://localhost:3000", follow_redirects=False)
    assert (
        anonymous.get(routes.oauth_start("github"), params={"link": "1"}).headers["location"]
        == "/login"
    )
