"""The request class of the whole app: a 4 KB body cap and form fields without control characters.

Every webhook and page reads its form through this class, so the rules hold on every field of
every route: no handler can forget them. An announced length over the cap is refused by Werkzeug
when the form is read; a body without a length (chunked) is read here up to the cap, 413 above it
(Werkzeug alone would cut it silently and parse the first 4 KB as if they were all). Control characters
(NUL, ESC, C1 codes…) never come from a phone; PostgreSQL refuses NUL in text, which turned one
odd field into a 503 and a gateway retrying forever. Tab and line breaks stay (multi-line SMS).
"""

from __future__ import annotations

import io
import re

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import RequestEntityTooLarge

MAX_BODY = 4096

_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def strip_controls(value: str) -> str:
    """The text without control characters (tab and line breaks kept) and without lone surrogates."""
    return _CONTROLS.sub("", value)


class WebRequest(Request):
    """Flask's request with the body cap and cleaned form fields."""

    max_content_length = MAX_BODY
    max_form_memory_size = MAX_BODY

    def _load_form_data(self) -> None:
        super()._load_form_data()
        form = self.__dict__.get("form")
        if form:
            self.__dict__["form"] = ImmutableMultiDict(
                [(strip_controls(k), strip_controls(v)) for k, v in form.items(multi=True)]
            )


class BodyCap:
    """WSGI middleware: a body sent without Content-Length is read up to MAX_BODY, 413 beyond it.

    What fits is handed on with its length, so everything after sees an ordinary request.
    """

    def __init__(self, app, limit: int = MAX_BODY):
        self.app = app
        self.limit = limit

    def __call__(self, environ, start_response):
        # Only a chunked body has an end to read to: gunicorn's reader for a request with neither
        # a length nor chunks waits for the connection to close.
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not environ.get("CONTENT_LENGTH"):
            data = environ["wsgi.input"].read(self.limit + 1)
            if len(data) > self.limit:
                return RequestEntityTooLarge()(environ, start_response)
            environ["wsgi.input"] = io.BytesIO(data)
            environ["CONTENT_LENGTH"] = str(len(data))
            environ.pop("wsgi.input_terminated", None)
        return self.app(environ, start_response)
