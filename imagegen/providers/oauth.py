"""OAuth sign-in providers (GitHub, Google) through authlib's client: authorization code
with `state` and PKCE (S256).
"""

import logging
from dataclasses import dataclass
from typing import Any

from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client

from imagegen.errors import ImagegenError
from imagegen.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in."""

    provider: str
    account_id: str
    email: str | None
    email_verified: bool
    name: str
    access_token: str | None
    refresh_token: str | None
    scope: str | None


@dataclass(frozen=True)
class Authorization:
    """Where to send the browser, and what to keep server-side until the callback."""

    url: str
    state: str
    code_verifier: str


class OAuthUnavailable(ImagegenError):
    """The provider could not be reached or refused the exchange."""

    message = "Sign-in with this provider failed. Please try again or use your password."


@dataclass(frozen=True)
class OAuthProvider:
    """One configured provider; `kind` picks how the profile is read."""

    name: str
    label: str
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    api_url: str
    scope: str

    def _client(self, redirect_uri: str) -> OAuth2Client:
        return OAuth2Client(
            self.client_id,
            self.client_secret,
            scope=self.scope,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=10,
        )

    def authorize(self, *, redirect_uri: str) -> Authorization:
        """The provider's consent URL with a fresh state and PKCE challenge."""
        verifier = generate_token(64)
        url, state = self._client(redirect_uri).create_authorization_url(
            self.authorize_url, code_verifier=verifier
        )
        return Authorization(url=url, state=state, code_verifier=verifier)

    def identify(self, *, code: str, redirect_uri: str, code_verifier: str) -> Identity:
        """Exchange the code (with the PKCE verifier) and read the profile.

        Raises:
            OAuthUnavailable: the exchange or the profile request failed.
        """
        client = self._client(redirect_uri)
        try:
            token = client.fetch_token(
                self.token_url,
                code=code,
                code_verifier=code_verifier,
                headers={"Accept": "application/json"},
            )
            if self.name == "github":
                return self._github(client, token)
            return self._google(client, token)
        except (OAuthError, KeyError, ValueError, OSError) as exc:
            raise OAuthUnavailable() from exc
        except Exception as exc:  # the HTTP client's own errors (authlib wraps httpx or httpx2)
            log.warning("oauth %s failed: %s", self.name, exc)
            raise OAuthUnavailable() from exc
        finally:
            client.close()

    def _github(self, client: OAuth2Client, token: dict[str, Any]) -> Identity:
        profile = client.get(f"{self.api_url}/user").raise_for_status().json()
        emails = client.get(f"{self.api_url}/user/emails").raise_for_status().json()
        primary = next((e for e in emails if e.get("primary")), None) or (
            emails[0] if emails else {}
        )
        return Identity(
            provider="github",
            account_id=str(profile["id"]),
            email=(primary.get("email") or profile.get("email") or None),
            email_verified=bool(primary.get("verified")),
            name=profile.get("name") or profile.get("login") or "GitHub user",
            access_token=token.get("access_token"),
            refresh_token=token.get("refresh_token"),
            scope=token.get("scope"),
        )

    def _google(self, client: OAuth2Client, token: dict[str, Any]) -> Identity:
        info = client.get(self.api_url).raise_for_status().json()
        return Identity(
            provider="google",
            account_id=str(info["sub"]),
            email=info.get("email"),
            email_verified=bool(info.get("email_verified")),
            name=info.get("name") or "Google user",
            access_token=token.get("access_token"),
            refresh_token=token.get("refresh_token"),
            scope=token.get("scope"),
        )


def configured_providers(settings: Settings) -> dict[str, OAuthProvider]:
    """The providers whose client id and secret are both set."""
    providers = {}
    if settings.github_client_id and settings.github_client_secret:
        providers["github"] = OAuthProvider(
            name="github",
            label="GitHub",
            client_id=settings.github_client_id,
            client_secret=settings.github_client_secret,
            authorize_url=f"{settings.github_oauth_url}/authorize",
            token_url=f"{settings.github_oauth_url}/access_token",
            api_url=settings.github_api_url,
            scope="read:user user:email",
        )
    if settings.google_client_id and settings.google_client_secret:
        providers["google"] = OAuthProvider(
            name="google",
            label="Google",
            client_id=settings.google_client_id,
            client_secret=settings.google_client_secret,
            authorize_url=settings.google_oauth_url,
            token_url=settings.google_token_url,
            api_url=settings.google_userinfo_url,
            scope="openid email profile",
        )
    return providers
