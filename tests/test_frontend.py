"""The front-end base layer: GOV.UK Frontend styles and scripts served by Django, base.html,
its includes, and the accessibility statement.

Static files are served by WhiteNoise through the finders, as in production with DEBUG off; the
stylesheet is built by `make install` (which `make test` runs first).
"""

import re
from typing import Any

import pytest
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.staticfiles import finders
from django.core.paginator import Paginator
from django.http import HttpRequest
from django.template import engines
from django.template.response import TemplateResponse
from django.test import Client, RequestFactory

from config.pages import AccessibilityStatementView

# Before collectstatic (tests, development) STATIC_ROOT does not exist and WhiteNoise says so when
# it starts; it serves through the finders all the same.

PAGE = """{% extends "base.html" %}
{% block title %}Test page{% endblock %}
{% block content %}<h1 class="govuk-heading-l">Test page</h1>{% endblock %}"""
# The ellipsis item in GOV.UK pagination, as the template writes it.
GAP = "&ctdot;"


def render_string(source: str, request: HttpRequest, **context: Any) -> str:
    return engines["django"].from_string(source).render(context, request)


def anonymous_request(path: str = "/") -> HttpRequest:
    request = RequestFactory().get(path)
    request.user = AnonymousUser()
    return request


def signed_in_request(path: str = "/") -> HttpRequest:
    request = RequestFactory().get(path)
    # Unsaved: the template only asks whether the user is authenticated, so no database.
    request.user = get_user_model()(username="reviewer.one")
    return request


def served(client: Client, url: str) -> tuple[int, str, bytes]:
    response = client.get(url)
    # WhiteNoise streams the file; reading it to the end closes it (the test client sees to that).
    body = response.getvalue()
    return response.status_code, response.headers.get("Content-Type", ""), body


# Static files


def test_stylesheet_is_served_with_debug_off_and_has_no_gds_transport(client: Client) -> None:
    assert settings.DEBUG is False
    status, content_type, css = served(client, "/static/dist/scrutiny.css")

    assert status == 200, "static/dist/scrutiny.css is missing: run `make install`"
    assert content_type.startswith("text/css")
    assert b".govuk-header" in css
    assert b".scrutiny-link-button" in css
    assert b"GDS Transport" not in css
    assert b"@font-face" not in css


def test_govuk_frontend_javascript_resolves_from_node_modules() -> None:
    found = finders.find("govuk/govuk-frontend.min.js")

    assert found, "node_modules/govuk-frontend is missing: run `make install`"
    assert "node_modules/govuk-frontend/dist/govuk" in str(found)


def test_govuk_assets_and_our_init_script_are_served(client: Client) -> None:
    assert served(client, "/static/govuk/assets/manifest.json")[0] == 200
    status, _, script = served(client, "/static/js/init.js")

    assert status == 200
    assert b'from "../govuk/govuk-frontend.min.js"' in script
    assert b"initAll()" in script


# base.html


def test_base_has_skip_link_landmarks_and_one_h1() -> None:
    html = render_string(PAGE, anonymous_request())

    assert '<html lang="en-GB" class="govuk-template">' in html
    assert "<title>Test page \N{EN DASH} Scrutiny</title>" in html
    assert '<a href="#main-content" class="govuk-skip-link"' in html
    assert '<main class="govuk-main-wrapper" id="main-content">' in html
    assert '<header class="govuk-header"' in html
    assert '<footer class="govuk-footer">' in html
    assert html.count("<h1") == 1


def test_base_is_not_branded_as_govuk() -> None:
    html = render_string(PAGE, signed_in_request())

    assert "govuk-header__logotype" not in html
    assert "<svg" not in html
    assert "GOV.UK" not in html
    assert "Crown copyright" not in html
    assert "Open Government Licence" not in html
    assert "/static/govuk/assets/images/" not in html  # GOV.UK's crown favicons
    assert (
        '<span class="govuk-header__product-name scrutiny-header__product-name">Scrutiny</span>'
        in (html)
    )


def test_base_has_no_inline_script_and_loads_init_as_a_module() -> None:
    html = render_string(PAGE, anonymous_request())

    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts == ['<script type="module" src="/static/js/init.js">']
    assert " onload=" not in html
    assert " onclick=" not in html


def reviewer_request(people: dict[str, Any], path: str = "/") -> HttpRequest:
    request = RequestFactory().get(path)
    request.user = people["rita.reviewer"]
    return request


@pytest.mark.django_db
def test_signed_in_navigation_has_work_queue_and_sign_out_post_with_csrf_token(
    people: dict[str, Any],
) -> None:
    html = render_string(PAGE, reviewer_request(people))

    assert '<a class="govuk-service-navigation__link" href="/cases/">Work queue</a>' in html
    form = re.search(r'<form method="post" action="/sign-out/"[^>]*>(.*?)</form>', html, re.S)
    assert form, html
    assert re.search(r'<input type="hidden" name="csrfmiddlewaretoken" value="\w+">', form[1])
    assert '<button type="submit"' in form[1]


@pytest.mark.django_db
def test_work_queue_is_marked_current_inside_cases(people: dict[str, Any]) -> None:
    html = render_string(PAGE, reviewer_request(people, "/cases/42/"))

    assert 'href="/cases/" aria-current="true"' in html
    assert "govuk-service-navigation__item--active" in html


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["dan.steward", "sid.subject", "otto.outsider"])
def test_only_reviewers_are_offered_the_work_queue(people: dict[str, Any], username: str) -> None:
    request = RequestFactory().get("/notices/")
    request.user = people[username]

    html = render_string(PAGE, request)

    assert "Work queue" not in html
    assert 'href="/notices/" aria-current="true"' in html


def test_anonymous_page_has_no_navigation() -> None:
    html = render_string(PAGE, anonymous_request())

    assert "govuk-service-navigation" not in html
    assert "/sign-out/" not in html
    assert "csrfmiddlewaretoken" not in html


def test_messages_render_as_notification_banners() -> None:
    request = anonymous_request()
    request._messages = CookieStorage(request)  # type: ignore[attr-defined]
    messages.success(request, "Decision recorded.")
    messages.info(request, "The subject has not been told yet.")

    html = render_string(PAGE, request)

    success, info = re.findall(r'<div class="govuk-notification-banner(?: [^"]*)?"[^>]*>', html)
    assert "govuk-notification-banner--success" in success
    assert 'role="alert"' in success
    assert "govuk-notification-banner--success" not in info
    assert 'role="region"' in info
    assert ">Success</h2>" in html
    assert ">Important</h2>" in html
    assert "Decision recorded." in html
    assert "The subject has not been told yet." in html
    # Banners come first in <main>, before the page's h1.
    assert html.index("govuk-notification-banner") < html.index("<h1")


def test_messages_are_escaped() -> None:
    request = anonymous_request()
    request._messages = CookieStorage(request)  # type: ignore[attr-defined]
    messages.success(request, "<script>alert(1)</script>")

    html = render_string(PAGE, request)

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


# Includes


class ReasonForm(forms.Form):
    rationale = forms.CharField()
    reviewed_on = forms.DateField()

    def clean(self) -> dict[str, Any]:
        raise forms.ValidationError("This case has already been decided.")


def test_error_summary_lists_non_field_and_field_errors_with_links() -> None:
    form = ReasonForm(data={"reviewed_on": "not a date"})
    assert not form.is_valid()

    html = render_string(
        '{% include "includes/error_summary.html" %}', anonymous_request(), form=form
    )

    assert 'class="govuk-error-summary"' in html
    assert "There is a problem" in html
    assert "<li>This case has already been decided.</li>" in html
    assert '<a href="#id_rationale">This field is required.</a>' in html
    assert '<a href="#id_reviewed_on">Enter a valid date.</a>' in html


def test_error_summary_is_empty_for_a_valid_or_unbound_form() -> None:
    html = render_string(
        '{% include "includes/error_summary.html" %}', anonymous_request(), form=ReasonForm()
    )

    assert html.strip() == ""


def test_field_errors_render_a_govuk_error_message_with_the_described_by_id() -> None:
    form = ReasonForm(data={})
    form.is_valid()

    html = render_string(
        '{% include "includes/field_errors.html" with field=form.rationale %}',
        anonymous_request(),
        form=form,
    )

    assert '<p id="id_rationale-error" class="govuk-error-message">' in html
    assert '<span class="govuk-visually-hidden">Error:</span> This field is required.' in html


def render_pagination(number: int, pages: int, querystring: str = "") -> str:
    page_obj = Paginator(range(pages * 10), 10).page(number)
    return render_string(
        '{% include "includes/pagination.html" %}',
        anonymous_request(),
        page_obj=page_obj,
        querystring_without_page=querystring,
    )


def page_numbers(html: str) -> list[str]:
    return re.findall(r'<li class="govuk-pagination__item[^"]*">\s*(?:<a[^>]*>)?([^<\s]+)', html)


def test_pagination_keeps_other_query_parameters() -> None:
    html = render_pagination(5, 10, "status=open&sort=waiting")

    assert 'href="?status=open&amp;sort=waiting&amp;page=4" rel="prev"' in html
    assert 'href="?status=open&amp;sort=waiting&amp;page=6" rel="next"' in html
    assert (
        'href="?status=open&amp;sort=waiting&amp;page=5" aria-label="Page 5" aria-current="page"'
        in (html)
    )


@pytest.mark.parametrize(
    ("number", "pages", "shown"),
    [
        (1, 2, ["1", "2"]),
        (1, 10, ["1", "2", GAP, "10"]),
        (4, 10, ["1", "2", "3", "4", "5", GAP, "10"]),
        (5, 10, ["1", GAP, "4", "5", "6", GAP, "10"]),
        (7, 10, ["1", GAP, "6", "7", "8", "9", "10"]),
        (10, 10, ["1", GAP, "9", "10"]),
    ],
)
def test_pagination_shows_ends_neighbours_and_gaps(
    number: int, pages: int, shown: list[str]
) -> None:
    html = render_pagination(number, pages)

    assert page_numbers(html) == shown
    assert f'aria-label="Page {number}" aria-current="page"' in html
    assert 'href="?page=' in html


def test_pagination_is_absent_for_a_single_page() -> None:
    assert render_pagination(1, 1).strip() == ""


# The accessibility statement


def test_accessibility_statement_is_public_and_reads_nothing_from_the_database(
    db: None, django_assert_num_queries: Any
) -> None:
    view = AccessibilityStatementView.as_view()

    with django_assert_num_queries(0):
        response = view(anonymous_request("/accessibility/"))
        assert isinstance(response, TemplateResponse)
        response.render()
    html = response.content.decode()

    assert response.status_code == 200
    assert "<title>Accessibility statement \N{EN DASH} Scrutiny</title>" in html
    assert html.count("<h1") == 1
    assert "WCAG" in html
    assert "2.2" in html
    assert "without JavaScript" in html
    assert "Reporting a problem" in html
