"""A Polar API stand-in for the endpoints the app calls: `POST /v1/checkouts/` and
`POST /v1/customer-sessions/`, answering bodies polar-sdk deserializes (every field its
output dataclasses require), plus the pages those URLs lead to."""

import uuid
from collections import deque

from polar.v2026_10 import outputs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tests.fixtures.polar_events import sample_object
from tests.standins.server import ThreadedServer


class PolarStandIn:
    """Checks the bearer token, records requests, fails on demand (`fail_next(500)`)."""

    def __init__(self, access_token: str = "polar_test_token") -> None:
        self.access_token = access_token
        self.requests: list[dict] = []
        self.failures: deque[int] = deque()
        app = Starlette(
            routes=[
                Route("/v1/checkouts/", self._checkout, methods=["POST"]),
                Route("/v1/customer-sessions/", self._customer_session, methods=["POST"]),
                Route("/checkout/{id}", self._page, methods=["GET"]),
                Route("/portal/{token}", self._page, methods=["GET"]),
            ]
        )
        self._server = ThreadedServer(app)

    @property
    def base_url(self) -> str:
        return self._server.base_url

    def fail_next(self, *statuses: int) -> None:
        self.failures.extend(statuses)

    async def _guard(self, request: Request) -> tuple[dict, Response | None]:
        body = await request.json()
        self.requests.append(
            {"path": request.url.path, "json": body, "headers": dict(request.headers)}
        )
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return body, JSONResponse(
                {"error": "invalid_token", "error_description": "The access token is invalid."},
                status_code=401,
            )
        if self.failures:
            return body, JSONResponse(
                {"detail": "Internal Server Error"}, status_code=self.failures.popleft()
            )
        return body, None

    async def _checkout(self, request: Request) -> Response:
        body, refused = await self._guard(request)
        if refused:
            return refused
        checkout_id = uuid.uuid4().hex[:16]
        data = sample_object(outputs.Checkout)
        data.update(
            id=checkout_id,
            url=f"{self.base_url}/checkout/{checkout_id}",
            status="open",
            product_id=body["products"][0],
            customer_email=body.get("customer_email"),
            external_customer_id=body.get("external_customer_id"),
            success_url=body.get("success_url"),
        )
        return JSONResponse(data, status_code=201)

    async def _customer_session(self, request: Request) -> Response:
        _body, refused = await self._guard(request)
        if refused:
            return refused
        token = uuid.uuid4().hex
        data = sample_object(outputs.CustomerSession)
        data.update(
            id=uuid.uuid4().hex[:16],
            token=token,
            customer_portal_url=f"{self.base_url}/portal/{token}",
        )
        return JSONResponse(data, status_code=201)

    async def _page(self, request: Request) -> Response:
        return HTMLResponse("<!doctype html><title>Polar stand-in</title><h1>Polar (stand-in)</h1>")

    def __enter__(self) -> "PolarStandIn":
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
