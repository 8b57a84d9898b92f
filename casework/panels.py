"""Panels that apps above casework add to the reviewer's case page, so that the page shows what
they hold about the case (appeals: the challenges filed from it) without casework importing them.

A higher app registers a source at start-up (in its ``AppConfig.ready``); the case page asks
each source, in the order registered, for its panel and includes the panel's template with its
context. A source reads a fixed number of queries whatever the case holds, and names the people
whose data its panel shows, so that the page writes one access log entry for all of it.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User

from audit.access import Shown
from casework.models import Case


@dataclass(frozen=True)
class CasePanel:
    """A section of the case page: the template to include, its context, and the items of
    people's data it shows (for the access log)."""

    template_name: str
    context: Mapping[str, Any]
    shown: Sequence[Shown] = field(default=())


CasePanelSource = Callable[[Case, User], CasePanel | None]
_sources: list[CasePanelSource] = []


def register_case_panel(source: CasePanelSource) -> None:
    """Add ``source`` to the case page: it is asked, for each case shown to a reviewer, for a
    panel, or None when it has nothing to show for that case."""
    if source not in _sources:
        _sources.append(source)


def case_panels(case: Case, user: User) -> list[CasePanel]:
    panels = (source(case, user) for source in _sources)
    return [panel for panel in panels if panel is not None]
