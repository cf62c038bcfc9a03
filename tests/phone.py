"""A member's phone for tests: `phone.dial()`, `phone.press("1")` return the screen text."""

from __future__ import annotations

import itertools

_sessions = itertools.count(1)


class Phone:
    """Dials the service through the Flask test client as Africa's Talking would."""

    def __init__(self, client, number: str, *, service_code: str = "*384*123#", token: str | None = None):
        self.client = client
        self.number = number
        self.service_code = service_code
        self.token = token
        self.session_id = ""
        self.text = ""
        self.ended = False
        self.last = ""
        self.status = 0

    def dial(self, shortcut: str = "") -> str:
        """Start a new session (optionally dialling a shortcut such as *384*123*1#)."""
        self.session_id = f"ATUid_test_{next(_sessions)}"
        self.text = shortcut
        self.ended = False
        return self._send()

    def press(self, entry: str) -> str:
        """Type an entry and press send; returns the next screen's text."""
        if self.ended:
            raise AssertionError(f"session already ended on: {self.last!r}")
        self.text = f"{self.text}*{entry}" if self.text else entry
        return self._send()

    def replay(self) -> str:
        """The aggregator sends the last hop again (its answer was lost)."""
        return self._send()

    def _send(self) -> str:
        url = "/ussd" + (f"?token={self.token}" if self.token else "")
        response = self.client.post(
            url,
            data={
                "sessionId": self.session_id,
                "serviceCode": self.service_code,
                "phoneNumber": self.number,
                "networkCode": "60801",
                "text": self.text,
            },
        )
        self.status = response.status_code
        body = response.get_data(as_text=True)
        assert response.status_code == 200, (response.status_code, body)
        assert body.startswith(("CON ", "END ")), body
        self.ended = body.startswith("END ")
        self.last = body[4:]
        return self.last


def give_pin(session, member, pin: str, secret: str) -> None:
    """Arrange a member who already chose `pin` (hashed as the service does)."""
    from models.pin import hash_pin

    member.pin_hash = hash_pin(pin, secret)
    session.commit()
