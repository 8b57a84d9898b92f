"""reports.charts: the same bytes for the same input, nothing fetched or run, fit for the strict
Content Security Policy inline, accessible, and readable without colour."""

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import pytest

from reports.charts import (
    BAND,
    OUTSIDE_BAND,
    OUTSIDE_HATCH,
    REFERENCE,
    SVG_NAMESPACE,
    WITHIN_BAND,
    DisparityBar,
    clean_svg,
    disparity_bars,
    disparity_chart,
    precision_chart,
)
from reports.fairness import DetectorPrecision, DimensionCounts, GroupCounts, fairness_table

NS = {"svg": SVG_NAMESPACE}


def working_pattern():
    def group(key, label, headcount, flagged):
        return GroupCounts(key, label, headcount, flagged, 50, 20, 10, 30)

    return fairness_table(
        DimensionCounts(
            "working_pattern",
            "Working pattern",
            (
                group("full_time", "Full time", 4000, 200),
                group("part_time", "Part time", 900, 95),
                group("compressed", "Compressed hours", 300, 16),
                group("job_share", "Job share", 8, 0),
                group("not_recorded", "Not recorded", 40, 0),
                group("annualised", "Annualised hours", 400, 20),
            ),
        )
    )


def disparity_svg():
    bars = disparity_bars(working_pattern(), "flagged_per_head")
    return disparity_chart(
        bars, chart_id="disparity-working-pattern", title="Subjects flagged per head"
    )


PRECISION_ROWS = (
    DetectorPrecision("attendance 1.2.0", confirmed=81, wrong=182),
    DetectorPrecision("overtime 2.0.1", confirmed=10, wrong=0),
    DetectorPrecision("access-logs 0.9.0", confirmed=0, wrong=0),
)


def precision_svg():
    return precision_chart(PRECISION_ROWS, chart_id="precision")


@pytest.fixture(scope="module")
def charts():
    return {"disparity": disparity_svg(), "precision": precision_svg()}


def test_the_same_input_gives_the_same_bytes(charts):
    assert disparity_svg() == charts["disparity"]
    assert precision_svg() == charts["precision"]


def test_the_same_bytes_whether_or_not_weasyprint_was_imported_first_and_its_prefixes_kept(charts):
    # WeasyPrint writes its XML prefixes (the empty one among them) into ElementTree's one table
    # for the process when its metadata module is imported.
    import weasyprint.pdf.metadata  # noqa: F401

    table = dict(ET._namespace_map)  # type: ignore[attr-defined]

    assert disparity_svg() == charts["disparity"]
    assert charts["disparity"].startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert dict(ET._namespace_map) == table  # type: ignore[attr-defined]


def test_another_input_gives_other_bytes(charts):
    rows = (*PRECISION_ROWS[:1], DetectorPrecision("overtime 2.0.1", confirmed=9, wrong=1))
    assert precision_chart(rows, chart_id="precision") != charts["precision"]


def test_the_same_bytes_in_another_process_with_another_hash_seed(charts):
    script = (
        "import sys; from tests.reports.test_charts import disparity_svg, precision_svg; "
        "sys.stdout.write(disparity_svg() + '\\n' + precision_svg())"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(root)}
    result = subprocess.run(  # noqa: S603 - this interpreter, our own script
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
        env=env,
    )
    assert result.stdout == charts["disparity"] + "\n" + charts["precision"]


@pytest.mark.parametrize("name", ["disparity", "precision"])
def test_no_script_no_style_and_no_reference_but_the_svg_namespace(charts, name):
    svg = charts[name]
    assert "<script" not in svg.lower()
    # style-src 'self': an inline <style> or style attribute would be refused by the browser.
    assert "<style" not in svg and " style=" not in svg
    assert re.findall(r"https?://[^\s\"'<>)]+", svg) == [SVG_NAMESPACE]
    assert "xlink" not in svg and "<!DOCTYPE" not in svg and "<?xml" not in svg
    assert "@import" not in svg and "<image" not in svg and "<foreignObject" not in svg
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    for element in root.iter():
        assert element.tag != f"{{{SVG_NAMESPACE}}}style"
        assert "style" not in element.attrib
        for attribute, value in element.attrib.items():
            assert not attribute.startswith("on"), attribute
            if attribute == "href":
                assert value.startswith("#"), value
            for target in re.findall(r"url\(([^)]*)\)", value):
                assert target.startswith("#"), target


@pytest.mark.parametrize("name", ["disparity", "precision"])
def test_ids_are_the_charts_own_and_every_reference_resolves(charts, name):
    svg = charts[name]
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    chart_id = root.get("id", "")
    ids = [element.attrib["id"] for element in root.iter() if "id" in element.attrib]
    assert chart_id == name.replace("disparity", "disparity-working-pattern")
    assert len(ids) == len(set(ids))
    assert all(identifier.startswith(chart_id) for identifier in ids)
    targets = set(re.findall(r"url\(#([^)]+)\)", svg)) | set(re.findall(r'href="#([^"]+)"', svg))
    assert targets and targets <= set(ids)


@pytest.mark.parametrize("name", ["disparity", "precision"])
def test_a_title_and_a_description_name_it_for_assistive_technology(charts, name):
    root = ET.fromstring(charts[name])  # noqa: S314 - our own output
    chart_id = root.get("id", "")
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == f"{chart_id}-title {chart_id}-desc"
    title, desc = root[0], root[1]
    assert title.tag == f"{{{SVG_NAMESPACE}}}title" and title.get("id") == f"{chart_id}-title"
    assert desc.tag == f"{{{SVG_NAMESPACE}}}desc" and desc.get("id") == f"{chart_id}-desc"
    assert title.text and desc.text


def test_a_fixed_size():
    for svg in (disparity_svg(), precision_svg()):
        root = ET.fromstring(svg)  # noqa: S314 - our own output
        assert root.get("width") == "468pt"
        assert root.get("viewBox", "").startswith("0 0 468 ")


def description(svg) -> str:
    desc = ET.fromstring(svg)[1]  # noqa: S314 - our own output
    assert desc.tag == f"{{{SVG_NAMESPACE}}}desc" and desc.text
    return desc.text


def texts(svg):
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    return [element.text for element in root.iter(f"{{{SVG_NAMESPACE}}}text") if element.text]


def test_the_disparity_chart_states_its_numbers_and_shows_suppressed_groups_as_such(charts):
    svg = charts["disparity"]
    desc = description(svg)
    # part time: (95 / 900) / (200 / 4000) = 2.11; annualised 20/400 over 0.05 = 1.00; job
    # share, of 8 people, is counted with the other groups of fewer than 10, here none, and none
    # of its counts is shown; compressed hours' 16 is hidden as cover, or the total would show
    # that nobody in the small groups was flagged.
    assert "Full time: 1.00, reference group." in desc
    assert "Part time: 2.11, outside the band." in desc
    assert "Other groups (fewer than 10 people each): Job share: suppressed." in desc
    assert "Compressed hours: suppressed." in desc
    assert "Annualised hours: 1.00." in desc
    written = " ".join(texts(svg))
    for number in ("2.11, outside the band", "1.00, reference group", "suppressed"):
        assert number in written
    # The band's edges and its legend.
    assert "Band 0.8 to 1.25" in written


def test_a_suppressed_or_undefined_group_gets_no_bar():
    bars = [
        DisparityBar("In band", Fraction(11, 10)),
        DisparityBar("Reference", Fraction(1), reference=True),
        DisparityBar("Outside", Fraction(3, 2)),
        DisparityBar("Hidden", None, suppressed=True),
        DisparityBar("Undefined", None),
    ]
    svg = disparity_chart(bars, chart_id="bars", title="Bars")
    # One bar of each fill, and the legend's swatch of it.
    assert svg.count(f'fill="{WITHIN_BAND}"') == 2
    assert svg.count(f'fill="{REFERENCE}"') == 2
    hatched = re.findall(r'fill="url\(#(bars-\d+)\)"', svg)
    assert len(hatched) == 2 and len(set(hatched)) == 1
    written = texts(svg)
    assert "Hidden: suppressed" in written and "Undefined: not defined" in written
    assert "Outside: 1.50, outside the band" in written


def test_bars_are_told_apart_without_colour():
    def luminance(colour):
        red, green, blue = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
        return 0.2126 * red + 0.7152 * green + 0.0722 * blue

    # Within the band dark, the reference mid, the band light; outside the band hatched.
    assert luminance(WITHIN_BAND) + 0.2 < luminance(REFERENCE) < luminance(BAND) - 0.2
    assert OUTSIDE_HATCH
    svg = disparity_chart(
        [DisparityBar("Outside", Fraction(2)), DisparityBar("Ref", Fraction(1), reference=True)],
        chart_id="hatch",
        title="Hatch",
    )
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    pattern = root.find(".//svg:pattern", NS)
    assert pattern is not None
    assert any(element.get("fill") == OUTSIDE_BAND for element in pattern.iter())
    assert pattern.find("svg:path", NS) is not None  # the hatching's lines


def test_the_precision_chart_states_its_intervals(charts):
    svg = charts["precision"]
    desc = description(svg)
    assert "attendance 1.2.0: 0.31, 95% interval 0.26 to 0.37, 81 confirmed of 263 decided." in desc
    assert "overtime 2.0.1: 1.00, 95% interval 0.72 to 1.00, 10 confirmed of 10 decided." in desc
    assert "access-logs 0.9.0: no decided cases." in desc
    written = " ".join(texts(svg))
    assert "0.31 (0.26 to 0.37), 81 of 263" in written
    assert "no decided cases" in written


def test_a_chart_id_must_be_fit_for_html():
    with pytest.raises(ValueError):
        precision_chart(PRECISION_ROWS, chart_id="Not an id")


def test_the_cleaner_refuses_what_it_cannot_turn_into_attributes():
    raw = (
        b'<svg xmlns="http://www.w3.org/2000/svg"><path d="M 0 0" style="filter: blur(2px)"/></svg>'
    )
    with pytest.raises(ValueError, match="filter"):
        clean_svg(raw, chart_id="x", title="t", description="d")
    stylesheet = (
        b'<svg xmlns="http://www.w3.org/2000/svg"><defs><style>path{fill: red}</style></defs></svg>'
    )
    with pytest.raises(ValueError, match="stylesheet"):
        clean_svg(stylesheet, chart_id="x", title="t", description="d")


def test_the_cleaner_turns_the_global_rule_and_styles_into_attributes():
    raw = (
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
        b'xmlns:xlink="http://www.w3.org/1999/xlink"><defs><style type="text/css">'
        b"*{stroke-linejoin: round}</style></defs><!-- made by a tool (https://example.org) -->"
        b'<defs><path id="m1" d="M 0 0 \n L 1 1"/></defs><g id="unused">'
        b'<use xlink:href="#m1" style="fill: #ffffff; stroke-width: 0.8"/></g></svg>'
    )
    svg = clean_svg(raw, chart_id="c", title="T", description="D")
    assert svg == (
        f'<svg xmlns="{SVG_NAMESPACE}" stroke-linejoin="round" id="c" role="img" '
        'aria-labelledby="c-title c-desc"><title id="c-title">T</title>'
        '<desc id="c-desc">D</desc><defs><path d="M 0 0 L 1 1" id="c-1" /></defs>'
        '<g><use fill="#ffffff" stroke-width="0.8" href="#c-1" /></g></svg>'
    )


@pytest.mark.parametrize("name", ["Analyst $x^$ grade", "Pay band $5 to $9"])
def test_a_dollar_sign_in_a_name_is_written_as_it_is(name):
    """A `$` is not mathematics: a name matplotlib could not parse as such draws, and one it
    could is written as given, not typeset."""
    disparity = disparity_chart(
        [
            DisparityBar("Constable", Fraction(1), reference=True),
            DisparityBar(name, Fraction(3, 2)),
        ],
        chart_id="disparity-role",
        title=f"Role ({name}): subjects flagged per head",
    )
    precision = precision_chart(
        [DetectorPrecision(f"overtime {name}", confirmed=3, wrong=1)], chart_id="precision"
    )

    assert f"{name}: 1.50, outside the band" in texts(disparity)
    assert f"Role ({name}): subjects flagged per head" in texts(disparity)
    assert any(text.startswith(f"overtime {name}: 0.75") for text in texts(precision))
