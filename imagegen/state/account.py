"""The account page: profile, password, sessions, sign-in methods, API keys, credit ledger,
deletion.
"""

import asyncio
import uuid
from urllib.parse import urlencode

import reflex as rx

from imagegen import routes
from imagegen.db import session_scope
from imagegen.errors import ImagegenError
from imagegen.http import urls
from imagegen.models import User
from imagegen.providers.compose import get_storage
from imagegen.providers.oauth import configured_providers
from imagegen.redis_client import get_redis
from imagegen.services import accounts, api_keys, credits, exports, flash, library
from imagegen.settings import get_settings
from imagegen.state.auth import AuthState

REASON_LABELS = {"generation": "Image generation"}

# Browser notifications. The Notification API has no Reflex counterpart, so these few lines
# run through rx.call_script; permission is only ever asked for from a click (NOTICES_ASK).
# The choice is this browser's, kept in localStorage. Each evaluates to on/off/blocked/unsupported.
NOTICES_KEY = "imagegen-notify"
NOTICES_STATUS = (
    "typeof Notification === 'undefined' ? 'unsupported'"
    " : Notification.permission === 'denied' ? 'blocked'"
    f" : Notification.permission === 'granted' && localStorage.getItem('{NOTICES_KEY}') === 'on'"
    " ? 'on' : 'off'"
)
NOTICES_ASK = (
    "typeof Notification === 'undefined' ? 'unsupported'"
    " : Notification.requestPermission().then((p) => {"
    f" if (p === 'granted') {{ localStorage.setItem('{NOTICES_KEY}', 'on'); return 'on'; }}"
    " return p === 'denied' ? 'blocked' : 'off'; })"
)
NOTICES_OFF = f"(localStorage.setItem('{NOTICES_KEY}', 'off'), 'off')"
# Installed where the gallery is (once per page load): while the tab is away, each newly
# finished image batch becomes one notification, if this browser said yes.
NOTICES_WATCH = f"""(() => {{
  if (window.__imagegenNotices || typeof Notification === 'undefined') return;
  window.__imagegenNotices = true;
  let seen = null;
  const count = () => {{
    const el = document.getElementById('progress-signal');
    return el ? Number(el.dataset.done) || 0 : null;
  }};
  // The moment the tab goes away is the baseline (not the next tick: an image may finish first).
  const leave = () => {{ if (document.hidden || !document.hasFocus()) seen = count(); }};
  document.addEventListener('visibilitychange', leave);
  window.addEventListener('blur', leave);
  setInterval(() => {{
    const done = count();
    if (done === null) {{ seen = null; return; }}
    const away = document.hidden || !document.hasFocus();
    const wanted = Notification.permission === 'granted'
      && localStorage.getItem('{NOTICES_KEY}') === 'on';
    if (seen === null || !away || !wanted || done < seen) {{ seen = done; return; }}
    if (done > seen) {{
      new Notification(`\u2713 ${{done - seen}} ready \u00b7 imagegen`, {{tag: 'imagegen-ready'}});
      seen = done;
    }}
  }}, 1000);
}})()"""

PROVIDER_LABELS = {"credential": "Email and password", "github": "GitHub", "google": "Google"}


def _device(user_agent: str | None) -> str:
    ua = user_agent or ""
    browser = next((b for b in ("Edg", "Firefox", "Chrome", "Safari") if b in ua), "")
    system = next((s for s in ("Windows", "Android", "iPhone", "Mac OS", "Linux") if s in ua), "")
    label = " on ".join(p for p in ({"Edg": "Edge"}.get(browser, browser), system) if p)
    return label or (ua[:60] if ua else "Unknown device")


def _load(user_id: str, current_session: str) -> dict[str, list[dict[str, str]]]:
    uid = uuid.UUID(user_id)
    with session_scope() as db:
        ledger = [
            {
                "when": f"{row.created_at:%b %-d, %Y %H:%M}",
                "amount": f"{row.amount:+d}",
                "kind": "refund" if row.amount > 0 else "debit",
                "reason": REASON_LABELS.get(row.reason, row.reason.replace("refund: ", "Refund: ")),
            }
            for row in credits.ledger(session=db, user_id=uid, limit=50)
        ]
        sessions = [
            {
                "id": str(row.id),
                "device": _device(row.user_agent),
                "ip": row.ip_address or "unknown",
                "last_used": f"{row.updated_at:%b %-d, %Y %H:%M} UTC",
                "current": "1" if str(row.id) == current_session else "",
            }
            for row in accounts.list_sessions(session=db, user_id=uid)
        ]
        methods = [
            {"id": provider, "provider": PROVIDER_LABELS.get(provider, provider)}
            for provider in accounts.sign_in_methods(session=db, user_id=uid)
        ]
        keys = [
            {
                "id": str(row.id),
                "name": row.name,
                "prefix": f"{row.prefix}…",
                "created": f"{row.created_at:%b %-d, %Y}",
                "last_used": f"{row.last_used_at:%b %-d, %Y %H:%M} UTC"
                if row.last_used_at
                else "never",
                "revoked": "Revoked by the password reset" if row.revoked_at else "",
            }
            for row in api_keys.listed_keys(session=db, user_id=uid)
        ]
    return {"ledger": ledger, "sessions": sessions, "methods": methods, "keys": keys}


EXPORT_STATUS = {
    "pending": "Preparing your archive… this page updates when it is ready.",
    "failed": "The last export failed. Please try again.",
    "expired": "Your last export has expired. Start a new one.",
}


def _export_view(user_id: str) -> tuple[dict[str, str], bool]:
    """The latest export as the Export card shows it, and the email-when-done setting."""
    uid = uuid.UUID(user_id)
    with session_scope() as db:
        user = db.get(User, uid)
        email_when_done = bool(user and user.email_when_done)
        export = exports.latest_export(session=db, user_id=uid)
        if export is None:
            return {}, email_when_done
        ready = exports.downloadable(export)
        status = "ready" if ready else ("expired" if export.status == "ready" else export.status)
        size = f"{(export.size_bytes or 0) / 1_000_000:,.1f} MB"
        return {
            "status": status,
            "text": (
                f"Ready: {export.image_count or 0} images, {size}. The link works until "
                f"{export.expires_at:%b %-d, %H:%M} UTC."
                if ready and export.expires_at
                else EXPORT_STATUS.get(status, "")
            ),
            "download": urls.backend(routes.export_download_url(export.id)) if ready else "",
        }, email_when_done


class AccountState(AuthState):
    """What the account page shows and changes."""

    # Latest credit movements, newest first.
    ledger: list[dict[str, str]] = []
    # Signed-in devices, most recently used first ("current" marks this one).
    sessions: list[dict[str, str]] = []
    # Ways to sign in (password, GitHub, Google).
    methods: list[dict[str, str]] = []
    # API keys: name, prefix, created, last used.
    api_keys: list[dict[str, str]] = []
    # A key just created, shown once until dismissed (never stored in clear).
    new_api_key: str = ""
    loaded: bool = False
    # Inline results of the forms.
    api_key_error: str = ""
    profile_error: str = ""
    password_error: str = ""
    delete_error: str = ""
    # The latest data export ({}: none yet): status, its words, the download link when ready.
    export: dict[str, str] = {}
    export_error: str = ""
    # Email me when a long job finishes.
    email_when_done: bool = False
    # Browser notifications in this browser: "" (not read yet), on, off, blocked, unsupported.
    browser_notices: str = ""

    @rx.event
    def read_browser_notices(self):
        """What this browser allows (the card mounted); never asks."""
        return rx.call_script(NOTICES_STATUS, callback=AccountState.set_browser_notices)

    @rx.event
    def ask_browser_notices(self):
        """The user clicked "Notify me in this browser": now the browser may ask."""
        return rx.call_script(NOTICES_ASK, callback=AccountState.set_browser_notices)

    @rx.event
    def stop_browser_notices(self):
        """No more notifications from this browser."""
        return rx.call_script(NOTICES_OFF, callback=AccountState.set_browser_notices)

    @rx.event
    def set_browser_notices(self, status: str) -> None:
        """The answer of one of the scripts above."""
        known = ("on", "off", "blocked", "unsupported")
        self.browser_notices = status if status in known else "off"

    @rx.event
    async def load(self) -> None:
        """on_load: ledger, sessions and sign-in methods of the signed-in user."""
        if not self._user_id:
            return
        data = await asyncio.to_thread(_load, self._user_id, self._session_id)
        self.ledger, self.sessions, self.methods = data["ledger"], data["sessions"], data["methods"]
        self.api_keys = data["keys"]
        self.export, self.email_when_done = await asyncio.to_thread(_export_view, self._user_id)
        self.loaded = True

    @rx.event
    async def start_export(self):
        """Export my data: a worker prepares the archive; this card shows it when ready."""
        from workers.export_data import enqueue_export  # the broker, only when used

        if not await self._refresh_user():
            return
        user_id = uuid.UUID(self._user_id)

        def work() -> None:
            with session_scope() as db:
                exports.request_export(session=db, user_id=user_id, enqueue=enqueue_export)

        self.export_error = ""
        try:
            await asyncio.to_thread(work)
        except ImagegenError as exc:
            self.export_error = str(exc)
        self.export, self.email_when_done = await asyncio.to_thread(_export_view, self._user_id)

    @rx.event
    async def refresh_export(self, _tick: str = ""):
        """While an export is being prepared: look again (a hidden clock ticks this)."""
        if self._user_id and self.export.get("status") == "pending":
            self.export, _ = await asyncio.to_thread(_export_view, self._user_id)

    @rx.event
    async def set_email_when_done(self, enabled: bool):
        """The "Email me when a long job finishes" switch."""
        if not await self._refresh_user():
            return None
        user_id, on = uuid.UUID(self._user_id), bool(enabled)

        def work() -> None:
            with session_scope() as db:
                library.set_email_when_done(session=db, user_id=user_id, enabled=on)

        await asyncio.to_thread(work)
        self.email_when_done = on
        return rx.toast.success(
            "We will email you when a long job finishes" if on else "No more emails for jobs",
            duration=2000,
        )

    @rx.var
    def api_base_url(self) -> str:
        """Where OpenAI clients point their base_url."""
        return urls.absolute_backend(routes.API_V1)

    @rx.event
    async def create_api_key(self, form: dict[str, str]):
        """Create a named key and show it once."""
        self.api_key_error, self.new_api_key = "", ""
        made: list[str] = []
        try:
            redirect = await self._run(
                lambda db, user, name: made.append(
                    api_keys.create_key(session=db, user_id=user.id, name=name)[0]
                ),
                form.get("key_name", ""),
            )
        except ImagegenError as exc:
            self.api_key_error = str(exc)
            return None
        if redirect:
            return redirect
        self.new_api_key = made[0]
        await self.load()  # type: ignore[operator]  # Reflex types an @rx.event handler read on self as EventNamespace
        return None

    @rx.event
    def dismiss_new_key(self) -> None:
        """Hide the new key (it cannot be shown again)."""
        self.new_api_key = ""

    @rx.event
    async def revoke_api_key(self, key_id: str):
        """Revoke a key; requests with it fail from now on."""
        return await self._run_and_reload(
            "Key revoked.",
            lambda db, user, kid: api_keys.revoke_key(session=db, user_id=user.id, key_id=kid),
            key_id,
        )

    async def _run(self, action, *args):
        """Re-check the session, then run `action(db, user, *args)` in one transaction."""
        if not await self._refresh_user():
            return rx.redirect(routes.LOGIN)

        def work() -> None:
            with session_scope() as db:
                user = db.get(User, uuid.UUID(self._user_id))
                if user is None:
                    raise ImagegenError("Your account no longer exists.")
                action(db, user, *args)

        await asyncio.to_thread(work)
        return None

    async def _run_and_reload(self, done: str, action, *args):
        """`_run`, then reload the page and confirm with `done`; a refusal becomes a toast."""
        try:
            redirect = await self._run(action, *args)
        except ImagegenError as exc:
            return rx.toast.error(str(exc))
        if redirect:
            return redirect
        await self.load()  # type: ignore[operator]  # Reflex types an @rx.event handler read on self as EventNamespace
        return rx.toast.success(done)

    @rx.event
    async def save_name(self, form: dict[str, str]):
        """Rename the user."""
        self.profile_error = ""
        try:
            redirect = await self._run(
                lambda db, user, name: accounts.change_name(session=db, user=user, name=name),
                form.get("name", ""),
            )
        except ImagegenError as exc:
            self.profile_error = str(exc)
            return None
        if redirect:
            return redirect
        await self._refresh_user()
        return rx.toast.success("Name saved")

    @rx.event
    async def save_password(self, form: dict[str, str]):
        """Change the password; every other session is signed out."""
        self.password_error = ""
        session_id = uuid.UUID(self._session_id) if self._session_id else uuid.uuid4()
        try:
            redirect = await self._run(
                lambda db, user, current, new: accounts.change_password(
                    session=db, user=user, current=current, new=new, keep_session_id=session_id
                ),
                form.get("current_password", ""),
                form.get("new_password", ""),
            )
        except ImagegenError as exc:
            self.password_error = str(exc)
            return None
        if redirect:
            return redirect
        await self._relink_after_rotation()
        await self.load()  # type: ignore[operator]  # Reflex types an @rx.event handler read on self as EventNamespace
        return rx.toast.success("Password changed; your other devices were signed out.")

    @rx.event
    async def revoke(self, session_id: str):
        """Sign out one device.

        Args:
            session_id: the session row to end.
        """
        try:
            redirect = await self._run(
                lambda db, user, sid: accounts.revoke_session(
                    session=db, user_id=user.id, session_id=sid
                ),
                session_id,
            )
        except ImagegenError as exc:
            return rx.toast.error(str(exc))
        if redirect:
            return redirect
        if session_id == self._session_id:
            return rx.redirect(routes.LOGIN)
        await self.load()  # type: ignore[operator]  # Reflex types an @rx.event handler read on self as EventNamespace
        return rx.toast.success("Signed out that device.")

    @rx.event
    async def revoke_others(self):
        """Sign out every other device."""
        keep = uuid.UUID(self._session_id)
        redirect = await self._run(
            lambda db, user: accounts.revoke_other_sessions(
                session=db, user_id=user.id, keep_session_id=keep
            )
        )
        if redirect:
            return redirect
        await self._relink_after_rotation()
        await self.load()  # type: ignore[operator]  # Reflex types an @rx.event handler read on self as EventNamespace
        return rx.toast.success("Signed out everywhere else.")

    async def _relink_after_rotation(self) -> None:
        """Signing others out gave the live feed a new secret name: follow it in this tab
        (the other tabs of this browser follow on their next page load).
        """
        if await self._refresh_user():
            await self._linked_feed()

    @rx.var
    def linkable(self) -> list[dict[str, str]]:
        """Configured OAuth providers not linked yet."""
        linked = {m["id"] for m in self.methods}
        return [
            {"id": name, "label": provider.label}
            for name, provider in configured_providers(get_settings()).items()
            if name not in linked
        ]

    @rx.event
    async def unlink(self, provider: str):
        """Remove a sign-in method (never the last).

        Args:
            provider: credential, github or google.
        """
        return await self._run_and_reload(
            "Sign-in method removed.",
            lambda db, user, p: accounts.unlink_method(session=db, user_id=user.id, provider=p),
            provider,
        )

    @rx.event
    async def delete_account(self, form: dict[str, str]):
        """Delete the account after the email is typed; then leave for the login page."""
        self.delete_error = ""
        storage = get_storage()
        try:
            redirect = await self._run(
                lambda db, user, typed: accounts.delete_account(
                    session=db,
                    user=user,
                    confirm_email=typed,
                    delete_file=lambda key, file_id: storage.delete(key=key, file_id=file_id),
                ),
                form.get("confirm_email", ""),
            )
        except ImagegenError as exc:
            self.delete_error = str(exc)
            return None
        if redirect:
            return redirect
        flash_id = await asyncio.to_thread(
            flash.put, get_redis(), "Your account and all its images were deleted.", kind="info"
        )
        return rx.redirect(f"{routes.LOGIN}?{urlencode({'flash': flash_id})}")
