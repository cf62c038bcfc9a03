"""Business-rule refusals raised by operations; callers turn them into a message for a person."""


class MboloError(Exception):
    """Base of every refusal the business operations raise."""


class NotFound(MboloError):
    """The member, loan or receipt named does not exist (in this cooperative)."""


class Unchanged(MboloError):
    """What was asked is already so; nothing is written (the message says what)."""


class Refused(MboloError):
    """The operation breaks a money rule; `code` names the rule, `details` the figures."""

    def __init__(self, code: str, **details):
        super().__init__(code)
        self.code = code
        self.details = details

    def __str__(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in self.details.items())
        return f"{self.code}({extra})" if extra else self.code
