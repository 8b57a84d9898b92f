"""How the oversight figures print: a suppressed cell as such, rates as percentages, a disparity
with its band, a precision with its interval. The PDF and the dashboard print them alike."""

from typing import Any

from django import template

from reports.fairness import CountCell, DisparityCell, RatioCell, format_disparity

register = template.Library()

SUPPRESSED = "suppressed"
UNDEFINED = "not defined"


@register.filter
def count_cell(cell: CountCell) -> str:
    if cell.value is None:
        return SUPPRESSED
    return f"{cell.value:,}"


@register.filter
def rate_cell(cell: RatioCell) -> str:
    if cell.suppressed is not None:
        return SUPPRESSED
    if cell.value is None:
        return UNDEFINED
    return f"{cell.value * 100:.1f}%"


@register.filter
def disparity_cell(cell: DisparityCell) -> str:
    if cell.suppressed is not None:
        return SUPPRESSED
    if cell.exact is None:
        return UNDEFINED
    words = format_disparity(cell.exact)
    if cell.reference:
        return f"{words} (reference)"
    if cell.outside_band:
        return f"{words} (outside 0.8 to 1.25)"
    return words


@register.filter
def percent(value: float | None) -> str:
    return UNDEFINED if value is None else f"{value * 100:.1f}%"


@register.filter
def interval(bounds: tuple[float, float] | None) -> str:
    if bounds is None:
        return UNDEFINED
    low, high = bounds
    return f"{low * 100:.1f}% to {high * 100:.1f}%"


@register.filter
def days(value: Any) -> str:
    if value is None:
        return UNDEFINED
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.1f}"
    return f"{int(value)}"


@register.filter
def of_class(classes: dict[str, int], name: str) -> int:
    return classes.get(name, 0)
