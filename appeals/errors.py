"""How the appeals services refuse: one exception family, which the pages turn into a message
beside the form and the API into 404, 409 or 422 with the reasons (config/api_errors.py)."""


class AppealError(Exception):
    """A request about a grant or a challenge that was refused; nothing was written."""

    status_code = 409


class AppealRefused(AppealError):
    """Not possible now: the grant or challenge is not in a state that allows it, or the person
    may not take this step."""


class AppealNotFound(AppealError):
    """No such thing, or one the person may not see: answered alike, in the same words, so that
    the answer does not tell what exists."""

    status_code = 404


class AppealInvalid(AppealError):
    """What was written is not acceptable. ``problems`` maps each field at fault to its message,
    so a form can show each beside its field."""

    status_code = 422

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(" ".join(problems.values()))
        self.problems = dict(problems)

    @classmethod
    def about(cls, field: str, message: str) -> "AppealInvalid":
        return cls({field: message})
