"""Who is signed in on this tab, read from the HttpOnly session cookie on the server side."""

import asyncio
import uuid
from typing import Any
from urllib.parse import urlencode

import reflex as rx

from imagegen import routes
from imagegen.db import session_scope
from imagegen.errors import ImagegenError
from imagegen.http import session as web_session
from imagegen.models import PLAN_LABELS
from imagegen.redis_client import get_redis
from imagegen.services import flash
from imagegen.services.throttle import Throttle
from imagegen.settings import get_settings
from imagegen.state.feed import UserFeed, load_snapshot, user_feed


class AuthState(rx.State):
    """The signed-in user of this tab; empty until `require_login` has checked the cookie."""

    # Backend only: the user's id never travels to the browser.
    _user_id: str = ""
    # Backend only: which session row this tab is signed in with.
    _session_id: str = ""
    # Backend only: the secret naming the user's live feed (see state.feed.feed_token).
    _feed_key: str = ""
    # Display name, email and plan of the signed-in user ("" when signed out).
    user_name: str = ""
    user_email: str = ""
    user_plan: str = ""
    # Whether the email address was confirmed (a banner asks until it is).
    email_verified: bool = True
    # Shows the Admin link (the console itself re-checks the role on every event).
    is_admin: bool = False

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
        return web_session.token_from_cookie_header(raw)

    async def _refresh_user(self) -> bool:
        """Load the user behind the cookie; clear everything when there is none."""
        signed_in = await asyncio.to_thread(web_session.resolve, self._session_token())
        if signed_in is None:
            self._user_id, self.user_name, self.user_email, self.user_plan = "", "", "", ""
            self.is_admin = False
            self._session_id, self._feed_key = "", ""
            return False
        user = signed_in.user
        self._user_id, self.user_name, self.user_email = str(user.id), user.name, user.email
        self.user_plan, self.email_verified = user.plan, user.email_verified
        self.is_admin = user.role == "admin"
        self._session_id, self._feed_key = str(signed_in.session_id), user.feed_key
        return True

    async def _linked_feed(self) -> UserFeed:
        """This tab's feed, linked to the signed-in user's shared one."""
        return await user_feed(self, self._feed_key)

    async def _verified_user_id(self) -> str | None:
        """The one check every state's actions start with: the session re-read from the cookie
        (it may have been revoked or expired since the page loaded); the user's id, or None.
        """
        if not await self._refresh_user():
            return None
        return self._user_id

    async def _signed_in(self) -> bool:
        """The session check every private page's on_load starts with: resolves the user behind
        the cookie (`_refresh_user`). Pages that load the feed themselves call it directly.
        """
        return await self._refresh_user()

    async def _flash(self) -> Any:
        """The one-off message a redirect left for this page (`?flash=`), as a toast."""
        flash_id = self.router.url.query_parameters.get("flash", "")
        if not flash_id:
            return None
        popped = await asyncio.to_thread(flash.pop_with_kind, get_redis(), flash_id)
        if popped:
            kind, message = popped
            return rx.toast.success(message) if kind == "info" else rx.toast.error(message)
        return None

    @rx.event
    async def require_login(self):
        """on_load of private pages: send visitors without a valid session to the login page;
        link this tab to the user's shared feed, so plan and credits update live.
        """
        if not await self._signed_in():
            return rx.redirect(routes.LOGIN)
        shared = await self._linked_feed()
        snap = await load_snapshot(self._user_id, images=False)
        if snap is not None:
            shared._apply_balance(snap)
        return await self._flash()

    @rx.event
    async def redirect_if_signed_in(self):
        """on_load of the login and register pages: a signed-in user goes home."""
        if await self._refresh_user():
            return rx.redirect(routes.HOME)
        return None


def _send_verification(user_id: str) -> None:
    from imagegen.models import User
    from imagegen.services import accounts
    from imagegen.services.mail import send_after_commit

    Throttle("verify-resend", 3, 3600).check(get_redis(), user_id)
    Throttle("verify-resend", 3, 3600).record_failure(get_redis(), user_id)
    with session_scope() as db:
        user = db.get(User, uuid.UUID(user_id))
        if user is None or user.email_verified:
            return
        send_after_commit(
            db,
            accounts.verification_email(session=db, user=user, api_url=get_settings().backend_url),
        )


class VerifyBannerState(AuthState):
    """The "confirm your email" banner's resend action."""

    # Set once a new email went out (the button then says so).
    resent: bool = False

    @rx.event
    async def resend(self):
        """Send the verification email again (at most 3 an hour)."""
        if not self._user_id:
            return None
        try:
            await asyncio.to_thread(_send_verification, self._user_id)
        except ImagegenError as exc:
            return rx.toast.error(str(exc))
        self.resent = True
        return rx.toast.success(f"We sent a new link to {self.user_email}.")


FOCUS_PASSWORD_IF_IDLE = rx.call_script(
    "if (document.activeElement === document.body) document.getElementById('password')?.focus()"
)


class AuthFormState(rx.State):
    """One-time messages and kept fields of the public auth forms (login, register, password
    reset) after a post.
    """

    # Message from the last failed submission, shown in role="alert".
    error: str = ""
    # A good-news message (e.g. "Your password was changed").
    notice: str = ""
    # The email a failed post sent back (the inputs read `?email=` themselves; this only
    # carries it on to "Forgot password?").
    email: str = ""
    # The reset token from the emailed link (the reset form posts it back).
    token: str = ""
    # The reset request was sent (the page answers the same for any email).
    sent: bool = False

    @rx.var
    def forgot_href(self) -> str:
        """The "Forgot password?" link, carrying the address of a failed sign-in."""
        if not self.email:
            return routes.FORGOT_PASSWORD
        return f"{routes.FORGOT_PASSWORD}?{urlencode({'email': self.email})}"

    @rx.var
    def login_href(self) -> str:
        """The sign-in page, carrying the address just tried."""
        if not self.email:
            return routes.LOGIN
        return f"{routes.LOGIN}?{urlencode({'email': self.email})}"

    @rx.event
    async def load(self):
        """Read the flash message and kept fields from the URL, then check the session."""
        params = self.router.url.query_parameters
        popped = await asyncio.to_thread(flash.pop_with_kind, get_redis(), params.get("flash", ""))
        kind, message = popped or ("", "")
        self.error = message if kind == "error" else ""
        self.notice = message if kind == "info" else ""
        self.email = params.get("email", "")[:320]
        self.token, self.sent = params.get("token", "")[:100], params.get("sent") == "1"
        if (
            self.error
            and self.email
            and routes.normalize_path(self.router.url.path) == routes.LOGIN
        ):
            # A failed sign-in: the address is kept, so the password is what to type next
            # (unless the person already moved somewhere).
            return [FOCUS_PASSWORD_IF_IDLE, AuthState.redirect_if_signed_in]
        return AuthState.redirect_if_signed_in
