"""Who is signed in on this tab, read from the HttpOnly session cookie on the server side."""

import asyncio
from http.cookies import CookieError, SimpleCookie

import reflex as rx

from imagegen import routes
from imagegen.db import session_scope
from imagegen.redis_client import get_redis
from imagegen.services import auth, flash
from imagegen.settings import get_settings
from imagegen.state.feed import UserFeed, load_snapshot, user_token

PLAN_LABELS = {"free_user": "Free", "pro_user": "Pro", "gold_user": "Gold"}


def _lookup(token: str | None) -> auth.SignedIn | None:
    with session_scope() as db:
        return auth.resolve_session(
            session=db, token=token, policy=auth.session_policy(get_settings())
        )


class AuthState(rx.State):
    """The signed-in user of this tab; empty until `require_login` has checked the cookie."""

    # Backend only: the user's id never travels to the browser.
    _user_id: str = ""
    # Display name, email and plan of the signed-in user ("" when signed out).
    user_name: str = ""
    user_email: str = ""
    user_plan: str = ""

    @rx.var
    def is_authenticated(self) -> bool:
        """True once the session cookie was checked and is valid."""
        return self.user_email != ""

    @rx.var
    def plan_label(self) -> str:
        """Free / Pro / Gold."""
        return PLAN_LABELS.get(self.user_plan, "")

    @rx.var
    def user_initial(self) -> str:
        """First letter of the name, for the avatar."""
        return self.user_name[:1].upper()

    def _session_token(self) -> str | None:
        """The cookie as the browser sent it with the websocket handshake (never sent back)."""
        raw = self.router.headers.raw_headers.get("cookie", "") if self.router else ""
        try:
            cookie = SimpleCookie(raw)
        except CookieError:
            return None
        morsel = cookie.get(routes.SESSION_COOKIE)
        return morsel.value if morsel else None

    async def _refresh_user(self) -> bool:
        """Load the user behind the cookie; clear everything when there is none."""
        signed_in = await asyncio.to_thread(_lookup, self._session_token())
        if signed_in is None:
            self._user_id, self.user_name, self.user_email, self.user_plan = "", "", "", ""
            return False
        user = signed_in.user
        self._user_id, self.user_name, self.user_email = str(user.id), user.name, user.email
        self.user_plan = user.plan
        return True

    @rx.event
    async def require_login(self):
        """on_load of private pages: send visitors without a valid session to the login page;
        link this tab to the user's shared feed, so plan and credits update live.
        """
        if not await self._refresh_user():
            return rx.redirect(routes.LOGIN)
        shared = await (await self.get_state(UserFeed))._link_to(user_token(self._user_id))
        snap = await load_snapshot(self._user_id, images=False)
        if snap is not None:
            shared._apply_balance(snap)
        return None

    @rx.event
    async def redirect_if_signed_in(self):
        """on_load of the login and register pages: a signed-in user goes home."""
        if await self._refresh_user():
            return rx.redirect(routes.HOME)
        return None


class AuthFormState(rx.State):
    """The one-time error and the kept fields of the login/register forms after a failed post."""

    # Message from the last failed submission, shown in role="alert".
    error: str = ""
    # Fields echoed back so nothing typed is lost (never the password).
    name: str = ""
    email: str = ""

    @rx.event
    async def load(self):
        """Read the flash message and kept fields from the URL, then check the session."""
        params = self.router.url.query_parameters
        flash_id = params.get("flash", "")
        self.error = (await asyncio.to_thread(flash.pop, get_redis(), flash_id)) or ""
        self.name, self.email = params.get("name", "")[:100], params.get("email", "")[:320]
        return AuthState.redirect_if_signed_in
