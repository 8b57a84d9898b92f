"""The oversight report's charts, as SVG to put inline in an HTML page or a WeasyPrint PDF.

Drawn with matplotlib's SVG backend (docs/decisions/0025-charts-as-svg.md) and then cleaned, so
that a chart:

- is the same bytes for the same input: `svg.hashsalt` is fixed, the date and the rest of the
  metadata are left out, element ids are numbered in document order and prefixed with the
  chart's id (two charts on one page never share an id);
- obeys the site's Content Security Policy inline (`style-src 'self'`): matplotlib styles its
  elements with `style` attributes and a `<style>` element, which the policy would refuse, so
  every declaration becomes the SVG presentation attribute of the same name, and a property
  with no such attribute is an error rather than a silently unstyled chart;
- fetches nothing: no script, no stylesheet, no font (text stays text, in DejaVu Sans, whose
  metrics matplotlib ships and lays the chart out with, with Liberation Sans and Arial after
  it), no DOCTYPE, no `xlink` namespace (`href` instead); the only URL in it is the SVG
  namespace;
- writes every text as given: a `$` in a group's or a detector's name is a dollar sign, never
  mathematics for matplotlib to parse;
- reads in greyscale: bars differ by shade and hatching as well as colour, and every value is
  written beside its group's name;
- is accessible: `role="img"`, a `<title>` and a `<desc>` that states every number; the page or
  the PDF prints the same numbers in a table beside it.

Matplotlib's global settings are set only for the duration of a render, under a lock: the
web's threads and a worker may draw at the same time.
"""

from __future__ import annotations

import io
import re
import textwrap
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from reports.fairness import (
    BAND_HIGH,
    BAND_LOW,
    DetectorPrecision,
    FairnessTable,
    format_disparity,
    outside_band,
)

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"

# The chart's width is fixed; its height grows by a fixed step per group or detector version.
WIDTH_INCHES = 6.5
BASE_HEIGHT_INCHES = 1.3
ROW_HEIGHT_INCHES = 0.42
TITLE_WIDTH_CHARACTERS = 68
# A row's name and figures, written above its bar across the chart's width.
LABEL_WIDTH_CHARACTERS = 88
# Within a row (1 unit high, its name above), where the bar or the point is drawn.
MARK_OFFSET = 0.18
BAR_HEIGHT = 0.42

# GOV.UK Frontend's palette; shades that differ in greyscale too, and hatching where they
# might not.
BLACK = "#0b0c0c"
WITHIN_BAND = "#1d70b8"
OUTSIDE_BAND = "#f47738"
REFERENCE = "#b1b4b6"
BAND = "#f3f2f1"
BAND_EDGE = "#505a5f"
OUTSIDE_HATCH = "///"

# Keyed Any: matplotlib types the keys as a Literal of every setting's name.
_RC: dict[Any, Any] = {
    "svg.hashsalt": "scrutiny-charts",
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial"],
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "hatch.linewidth": 1.0,
    # Every text is drawn as written: a "$" in a group's or a detector's name (a role "Pay band
    # $5 to $9") is a dollar sign, not the start of mathematics for matplotlib to typeset (or
    # fail to parse). Set here for whatever the chart draws, and again on each text from data.
    "text.parse_math": False,
}
_NO_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
_RENDER_LOCK = threading.Lock()
_CHART_ID = re.compile(r"[a-z][a-z0-9-]*")

# The CSS properties matplotlib writes, each an SVG presentation attribute of the same name.
_PRESENTATION_ATTRIBUTES = frozenset(
    {
        "clip-path",
        "fill",
        "fill-opacity",
        "fill-rule",
        "font-family",
        "font-size",
        "font-style",
        "font-weight",
        "opacity",
        "stroke",
        "stroke-dasharray",
        "stroke-dashoffset",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-miterlimit",
        "stroke-opacity",
        "stroke-width",
        "text-anchor",
    }
)


# -- Inputs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DisparityBar:
    """One group's bar: its disparity, or None for no bar (``suppressed``, or not defined)."""

    label: str
    value: Fraction | None
    suppressed: bool = False
    reference: bool = False

    @property
    def outside_band(self) -> bool:
        return self.value is not None and outside_band(self.value)

    @property
    def caption(self) -> str:
        """The value as written beside the group's name, and in the chart's description."""
        if self.suppressed:
            return "suppressed"
        if self.value is None:
            return "not defined"
        text = format_disparity(self.value)
        if self.reference:
            return f"{text}, reference group"
        if self.outside_band:
            return f"{text}, outside the band"
        return text


def disparity_bars(table: FairnessTable, rate_key: str) -> tuple[DisparityBar, ...]:
    """The bars of a fairness table's disparities for one of its rates, in the table's order."""
    bars = []
    for row in table.groups:
        cell = table.disparity(row.key, rate_key)
        bars.append(
            DisparityBar(
                label=row.label,
                value=cell.exact,
                suppressed=cell.suppressed is not None,
                reference=cell.reference,
            )
        )
    return tuple(bars)


# -- Charts ---------------------------------------------------------------------------------------


def disparity_chart(
    bars: Sequence[DisparityBar],
    *,
    chart_id: str,
    title: str,
    axis_label: str = "Disparity: the group's rate over the reference group's",
) -> str:
    """A horizontal bar per group, with the band 0.8 to 1.25 drawn behind the bars.

    A bar inside the band is solid blue, one outside it orange and hatched, the reference
    group's grey; a suppressed or undefined group has no bar, and says so.
    """
    if not bars:
        raise ValueError("A disparity chart needs at least one group.")
    values = [float(bar.value) for bar in bars if bar.value is not None]
    right = max([2.0, *values]) * 1.1
    with _drawing():
        figure = _figure(len(bars))
        _draw_disparities(figure, bars, right=right, title=title, axis_label=axis_label)
        svg = _save(figure)
    description = (
        f"{axis_label}, group by group; the band from {_number(BAND_LOW)} to "
        f"{_number(BAND_HIGH)} is shaded. "
        + " ".join(f"{bar.label}: {bar.caption}." for bar in bars)
    )
    return clean_svg(svg, chart_id=chart_id, title=title, description=description)


def _draw_disparities(
    figure: Figure, bars: Sequence[DisparityBar], *, right: float, title: str, axis_label: str
) -> None:
    axes = _rows_axes(figure, len(bars))
    axes.axvspan(float(BAND_LOW), float(BAND_HIGH), facecolor=BAND, edgecolor="none", zorder=0)
    for edge in (BAND_LOW, BAND_HIGH):
        axes.axvline(float(edge), color=BAND_EDGE, linestyle="--", linewidth=1.0, zorder=1)
    axes.axvline(1.0, color=BLACK, linewidth=0.8, zorder=1)

    for position, bar in enumerate(bars):
        _row_label(axes, position, f"{bar.label}: {bar.caption}")
        if bar.value is None:
            continue
        if bar.reference:
            face, hatch = REFERENCE, ""
        elif bar.outside_band:
            face, hatch = OUTSIDE_BAND, OUTSIDE_HATCH
        else:
            face, hatch = WITHIN_BAND, ""
        axes.barh(
            position + MARK_OFFSET,
            float(bar.value),
            height=BAR_HEIGHT,
            color=face,
            edgecolor=BLACK,
            linewidth=0.8,
            hatch=hatch,
            zorder=2,
        )

    axes.set_xlim(0, right)
    axes.set_xlabel(axis_label, parse_math=False)
    _title(figure, title)
    figure.legend(
        handles=[
            Patch(facecolor=WITHIN_BAND, edgecolor=BLACK, label="Within the band"),
            Patch(
                facecolor=OUTSIDE_BAND,
                edgecolor=BLACK,
                hatch=OUTSIDE_HATCH,
                label="Outside the band",
            ),
            Patch(facecolor=REFERENCE, edgecolor=BLACK, label="Reference group"),
            Patch(
                facecolor=BAND,
                edgecolor=BAND_EDGE,
                linestyle="--",
                label=f"Band {_number(BAND_LOW)} to {_number(BAND_HIGH)}",
            ),
        ],
        loc="outside lower center",
        ncols=4,
        frameon=False,
        fontsize=9,
    )


def precision_chart(
    rows: Sequence[DetectorPrecision],
    *,
    chart_id: str,
    title: str = "Precision per detector version",
) -> str:
    """A point per detector version at its precision, with its Wilson 95% interval as a bar.

    A version with no decided case has no point, and says so.
    """
    if not rows:
        raise ValueError("A precision chart needs at least one detector version.")
    with _drawing():
        figure = _figure(len(rows))
        _draw_precision(figure, rows, title=title)
        svg = _save(figure)
    description = (
        "Precision of each detector version: confirmed cases over decided ones (confirmed or "
        "wrong), with its Wilson 95% interval. "
        + " ".join(f"{row.label}: {_precision_description(row)}." for row in rows)
    )
    return clean_svg(svg, chart_id=chart_id, title=title, description=description)


def _draw_precision(figure: Figure, rows: Sequence[DetectorPrecision], *, title: str) -> None:
    axes = _rows_axes(figure, len(rows))
    for position, row in enumerate(rows):
        _row_label(axes, position, f"{row.label}: {_precision_caption(row)}")
        interval = row.interval
        if row.precision is None or interval is None:
            continue
        low, high = interval
        axes.errorbar(
            [row.precision],
            [position + MARK_OFFSET],
            xerr=[[row.precision - low], [high - row.precision]],
            fmt="o",
            color=BLACK,
            ecolor=BLACK,
            elinewidth=1.5,
            capsize=4,
            markersize=6,
        )
    # A little either side of 0 and 1, so that a point on either is drawn whole.
    axes.set_xlim(-0.03, 1.03)
    axes.set_xticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    axes.grid(axis="x", color=REFERENCE, linewidth=0.5)
    axes.set_axisbelow(True)
    axes.set_xlabel(
        "Precision (confirmed of decided), with its Wilson 95% interval", parse_math=False
    )
    _title(figure, title)


def _precision_caption(row: DetectorPrecision) -> str:
    if row.precision is None or row.interval is None:
        return "no decided cases"
    low, high = row.interval
    return f"{row.precision:.2f} ({low:.2f} to {high:.2f}), {row.confirmed} of {row.decided}"


def _precision_description(row: DetectorPrecision) -> str:
    if row.precision is None or row.interval is None:
        return "no decided cases"
    low, high = row.interval
    return (
        f"{row.precision:.2f}, 95% interval {low:.2f} to {high:.2f}, "
        f"{row.confirmed} confirmed of {row.decided} decided"
    )


def _rows_axes(figure: Figure, rows: int) -> Axes:
    """Axes with a row per group or version, the first at the top, and no tick labels on the
    left: each row's name and figures are written above its bar, across the chart's width, so
    that a long name takes no width from the bars."""
    axes = figure.add_subplot()
    axes.set_ylim(rows - 0.45, -0.55)
    axes.set_yticks([])
    return axes


def _row_label(axes: Axes, position: int, text: str) -> None:
    axes.text(
        0,
        position - 0.08,
        textwrap.shorten(text, LABEL_WIDTH_CHARACTERS, placeholder="..."),
        transform=axes.get_yaxis_transform(),
        ha="left",
        va="bottom",
        fontsize=9,
        color=BLACK,
        zorder=3,
        bbox={"facecolor": "#ffffff", "edgecolor": "none", "pad": 1.0},
        parse_math=False,
    )


def _title(figure: Figure, title: str) -> None:
    """The title, over the whole figure, wrapped to its width."""
    figure.suptitle(
        textwrap.fill(title, TITLE_WIDTH_CHARACTERS),
        x=0.01,
        ha="left",
        fontsize=11,
        fontweight="bold",
        parse_math=False,
    )


def _number(value: Fraction) -> str:
    return f"{float(value):g}"


# -- Rendering ------------------------------------------------------------------------------------


@contextmanager
def _drawing() -> Iterator[None]:
    """Matplotlib's settings for the charts, for one chart's drawing and saving: a figure's
    elements take their fonts and styles from the settings when they are made."""
    with _RENDER_LOCK, matplotlib.rc_context(_RC):
        yield


def _figure(rows: int) -> Figure:
    height = BASE_HEIGHT_INCHES + ROW_HEIGHT_INCHES * rows
    figure = Figure(figsize=(WIDTH_INCHES, height), layout="constrained")
    FigureCanvasSVG(figure)
    return figure


def _save(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata=_NO_METADATA)
    return buffer.getvalue()


def clean_svg(raw: bytes, *, chart_id: str, title: str, description: str) -> str:
    """Matplotlib's SVG made fit to put inline under the site's Content Security Policy."""
    if not _CHART_ID.fullmatch(chart_id):
        raise ValueError(f"A chart id is lower-case letters, digits and hyphens: {chart_id!r}.")
    # Matplotlib's own output, made in this process from our numbers: no outside input.
    root = ET.fromstring(raw)  # noqa: S314
    inherited = _drop_stylesheets(root)
    for name, value in inherited.items():
        root.set(name, value)
    for element in root.iter():
        _style_to_attributes(element)
        if _XLINK_HREF in element.attrib:
            element.set("href", element.attrib.pop(_XLINK_HREF))
        if element.tag == f"{{{SVG_NAMESPACE}}}path" and "d" in element.attrib:
            element.set("d", " ".join(element.attrib["d"].split()))
        if element.text is not None and not element.text.strip():
            element.text = None
        if element.tail is not None and not element.tail.strip():
            element.tail = None
    _renumber_ids(root, chart_id)

    root.set("id", chart_id)
    root.set("role", "img")
    root.set("aria-labelledby", f"{chart_id}-title {chart_id}-desc")
    title_element = ET.Element(f"{{{SVG_NAMESPACE}}}title", {"id": f"{chart_id}-title"})
    title_element.text = title
    desc_element = ET.Element(f"{{{SVG_NAMESPACE}}}desc", {"id": f"{chart_id}-desc"})
    desc_element.text = description
    root.insert(0, desc_element)
    root.insert(0, title_element)

    with _RENDER_LOCK, _svg_as_default_namespace():
        svg = ET.tostring(root, encoding="unicode")
    for forbidden in ("<script", "<style", " style=", "<foreignObject", "xlink:"):
        if forbidden in svg:
            raise ValueError(f"The chart still holds {forbidden!r}.")
    return svg


@contextmanager
def _svg_as_default_namespace() -> Iterator[None]:
    """SVG as the default namespace while a chart is written, and the process's prefixes as they
    were afterwards. ElementTree keeps one table of prefixes for the whole process, and WeasyPrint
    writes its own into it when imported (the empty prefix among them): a chart must not depend
    on whether WeasyPrint was imported first, nor a PDF's metadata on whether a chart was drawn.
    (``tostring``'s ``default_namespace`` cannot be used: it refuses unqualified attribute names
    before Python 3.13.)"""
    table = ET._namespace_map  # type: ignore[attr-defined]
    saved = dict(table)
    ET.register_namespace("", SVG_NAMESPACE)
    try:
        yield
    finally:
        table.clear()
        table.update(saved)


def _drop_stylesheets(root: ET.Element) -> dict[str, str]:
    """Remove every `<style>` element (and a `<defs>` it leaves empty), returning the
    declarations of its one rule, which must be for every element (`*`)."""
    declarations: dict[str, str] = {}
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag != f"{{{SVG_NAMESPACE}}}style":
                continue
            match = re.fullmatch(r"\s*\*\s*\{([^}]*)\}\s*", child.text or "")
            if match is None:
                raise ValueError(f"Unexpected stylesheet in the chart: {child.text!r}.")
            declarations.update(_declarations(match.group(1)))
            parent.remove(child)
            if parent.tag == f"{{{SVG_NAMESPACE}}}defs" and len(parent) == 0:
                for grandparent in root.iter():
                    if parent in list(grandparent):
                        grandparent.remove(parent)
                        break
    return declarations


def _style_to_attributes(element: ET.Element) -> None:
    style = element.attrib.pop("style", None)
    if style is None:
        return
    for name, value in _declarations(style).items():
        element.set(name, value)


def _declarations(css: str) -> dict[str, str]:
    declarations = {}
    for declaration in css.split(";"):
        if not declaration.strip():
            continue
        name, _, value = declaration.partition(":")
        name = name.strip()
        if name not in _PRESENTATION_ATTRIBUTES:
            raise ValueError(f"No presentation attribute for the chart's {name!r}.")
        declarations[name] = value.strip()
    return declarations


_REFERENCE = re.compile(r"url\(#([^)]+)\)")


def _renumber_ids(root: ET.Element, chart_id: str) -> None:
    """Keep only the ids something refers to, renamed `{chart_id}-1`, `-2`, ... in document
    order, and rewrite the references."""
    referenced: set[str] = set()
    for element in root.iter():
        for name, value in element.attrib.items():
            if name == "href" and value.startswith("#"):
                referenced.add(value[1:])
            else:
                referenced.update(_REFERENCE.findall(value))
    names: dict[str, str] = {}
    for element in root.iter():
        old = element.attrib.pop("id", None)
        if old is not None and old in referenced:
            names[old] = f"{chart_id}-{len(names) + 1}"
            element.set("id", names[old])
    missing = referenced - names.keys()
    if missing:
        raise ValueError(f"The chart refers to ids it does not define: {sorted(missing)}.")
    for element in root.iter():
        for name, value in list(element.attrib.items()):
            if name == "href" and value.startswith("#"):
                element.set(name, f"#{names[value[1:]]}")
            elif "url(#" in value:
                element.set(name, _REFERENCE.sub(lambda m: f"url(#{names[m.group(1)]})", value))
