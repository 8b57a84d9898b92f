"""How the reports services refuse: one exception family, which the pages turn into a message
and the API into 403, 404, 409 or 422 with the reasons."""


class ReportError(Exception):
    """A request about a report that was refused; nothing was written."""

    status_code = 409


class ReportForbidden(ReportError):
    """The person's role may not ask for this kind of report at all."""

    status_code = 403


class ReportNotFound(ReportError):
    """No such report or record, or one the person may not see: answered alike, in the same
    words, so that the answer does not tell what exists."""

    status_code = 404


class ReportInvalid(ReportError):
    """The parameters are not acceptable; ``problems`` maps each field at fault to its message."""

    status_code = 422

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(" ".join(problems.values()))
        self.problems = dict(problems)
