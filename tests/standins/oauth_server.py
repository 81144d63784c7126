"""An OAuth 2.0 provider stand-in speaking GitHub's and Google's shapes: consent (auto,
or denied), code exchange that enforces PKCE S256 and the client secret, and the profile."""

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.standins.server import ThreadedServer


@dataclass
class Person:
    """Who "signs in" at the provider next."""

    id: str = "1001"
    name: str = "Octo Cat"
    email: str = "octo@example.com"
    verified: bool = True


@dataclass
class _Grant:
    person: Person
    challenge: str
    redirect_uri: str
    tokens: list[str] = field(default_factory=list)


class OAuthStandIn:
    """GitHub under /github (authorize, access_token, api/user, api/user/emails) and Google
    under /google (authorize, token, userinfo)."""

    def __init__(self, client_id: str = "client-id", client_secret: str = "client-secret") -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.person = Person()
        self.deny = False
        self.codes: dict[str, _Grant] = {}
        self.tokens: dict[str, Person] = {}
        self.requests: list[dict] = []
        app = Starlette(
            routes=[
                Route("/github/login/oauth/authorize", self._authorize),
                Route("/github/login/oauth/access_token", self._token, methods=["POST"]),
                Route("/github/api/user", self._github_user),
                Route("/github/api/user/emails", self._github_emails),
                Route("/google/authorize", self._authorize),
                Route("/google/token", self._token, methods=["POST"]),
                Route("/google/userinfo", self._google_userinfo),
            ]
        )
        self._server = ThreadedServer(app)

    @property
    def base_url(self) -> str:
        return self._server.base_url

    def env(self) -> dict[str, str]:
        """Settings that point the app at this stand-in for both providers."""
        return {
            "GITHUB_CLIENT_ID": self.client_id,
            "GITHUB_CLIENT_SECRET": self.client_secret,
            "GITHUB_OAUTH_URL": f"{self.base_url}/github/login/oauth",
            "GITHUB_API_URL": f"{self.base_url}/github/api",
            "GOOGLE_CLIENT_ID": self.client_id,
            "GOOGLE_CLIENT_SECRET": self.client_secret,
            "GOOGLE_OAUTH_URL": f"{self.base_url}/google/authorize",
            "GOOGLE_TOKEN_URL": f"{self.base_url}/google/token",
            "GOOGLE_USERINFO_URL": f"{self.base_url}/google/userinfo",
        }

    async def _authorize(self, request: Request) -> Response:
        q = request.query_params
        self.requests.append({"path": request.url.path, "query": dict(q)})
        redirect_uri, state = q["redirect_uri"], q.get("state", "")
        if q.get("client_id") != self.client_id:
            return JSONResponse({"error": "invalid_client"}, status_code=400)
        if self.deny:
            return RedirectResponse(
                f"{redirect_uri}?{urlencode({'error': 'access_denied', 'state': state})}"
            )
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return JSONResponse(
                {"error": "invalid_request", "error_description": "PKCE required"}, status_code=400
            )
        code = secrets.token_urlsafe(16)
        self.codes[code] = _Grant(Person(**vars(self.person)), q["code_challenge"], redirect_uri)
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}")

    def _client_ok(self, request: Request, form: dict) -> bool:
        basic = request.headers.get("authorization", "")
        if basic.startswith("Basic "):
            user, _, password = base64.b64decode(basic[6:]).decode().partition(":")
            return (user, password) == (self.client_id, self.client_secret)
        return (form.get("client_id"), form.get("client_secret")) == (
            self.client_id,
            self.client_secret,
        )

    async def _token(self, request: Request) -> Response:
        form = dict(await request.form())
        self.requests.append({"path": request.url.path, "form": form})
        grant = self.codes.pop(str(form.get("code")), None)
        if not self._client_ok(request, form):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if grant is None or form.get("redirect_uri") != grant.redirect_uri:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = str(form.get("code_verifier", ""))
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if challenge != grant.challenge:
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "PKCE verification failed"},
                status_code=400,
            )
        token = secrets.token_urlsafe(24)
        self.tokens[token] = grant.person
        return JSONResponse(
            {"access_token": token, "token_type": "bearer", "scope": "read:user user:email"}
        )

    def _person(self, request: Request) -> Person | None:
        return self.tokens.get(
            request.headers.get("authorization", "").removeprefix("Bearer ").removeprefix("bearer ")
        )

    async def _github_user(self, request: Request) -> Response:
        person = self._person(request)
        if person is None:
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        return JSONResponse(
            {
                "id": int(person.id) if person.id.isdigit() else person.id,
                "login": person.name.lower().replace(" ", ""),
                "name": person.name,
                "email": None,
            }
        )

    async def _github_emails(self, request: Request) -> Response:
        person = self._person(request)
        if person is None:
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        return JSONResponse(
            [
                {
                    "email": person.email,
                    "primary": True,
                    "verified": person.verified,
                    "visibility": "private",
                }
            ]
        )

    async def _google_userinfo(self, request: Request) -> Response:
        person = self._person(request)
        if person is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse(
            {
                "sub": person.id,
                "email": person.email,
                "email_verified": person.verified,
                "name": person.name,
            }
        )

    def __enter__(self) -> "OAuthStandIn":
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
