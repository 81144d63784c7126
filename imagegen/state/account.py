"""The account page: profile and the credit ledger (every debit and refund)."""

import asyncio
import uuid

import reflex as rx

from imagegen.db import session_scope
from imagegen.services import credits
from imagegen.state.auth import AuthState

REASON_LABELS = {"generation": "Image generation"}


def _ledger(user_id: str) -> list[dict[str, str]]:
    with session_scope() as db:
        rows = credits.ledger(session=db, user_id=uuid.UUID(user_id), limit=50)
        return [
            {
                "when": f"{row.created_at:%b %-d, %Y %H:%M}",
                "amount": f"{row.amount:+d}",
                "kind": "refund" if row.amount > 0 else "debit",
                "reason": REASON_LABELS.get(row.reason, row.reason.replace("refund: ", "Refund: ")),
                "image": str(row.image_id)[:8] if row.image_id else "",
            }
            for row in rows
        ]


class AccountState(AuthState):
    """What the account page shows beyond the profile."""

    # Latest credit movements, newest first.
    ledger: list[dict[str, str]] = []
    ledger_loaded: bool = False

    @rx.event
    async def load(self) -> None:
        """on_load: read the ledger of the signed-in user."""
        if not self._user_id:
            return
        self.ledger = await asyncio.to_thread(_ledger, self._user_id)
        self.ledger_loaded = True
