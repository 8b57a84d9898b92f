"""Signing in and out of the pages. Failed sign-ins are counted and locked out by django-axes."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from accounts.roles import require_role
from audit.actors import Role


class SignInForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": (
            "Enter a correct username and password. After several failed attempts, signing in "
            "is locked for a while."
        ),
        "inactive": "This account is not active.",
    }


class SignInView(auth_views.LoginView):
    template_name = "accounts/sign_in.html"
    form_class = SignInForm
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    """POST only (Django refuses a GET): signing out changes state."""

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.success(request, "You have signed out.")
        return response


# Roles whose work has no page of its own in Scrutiny yet: they start on a page saying what the
# role does here, rather than on a list of notices that is empty for most of them. A
# representative starts on the list of the people they act for, and keeps the role page too.
ROLES_WITH_A_START_PAGE = frozenset({Role.DATA_STEWARD, Role.OVERSIGHT, Role.REPRESENTATIVE})


def front_door(request: HttpRequest) -> HttpResponse:
    """Each role's starting page: the work queue for reviewers, the admin for administrators,
    the people they act for for representatives, the challenges to decide for data stewards, a
    page about the role for oversight, and for everyone else their own record. A person with no
    role, or several, is told so (403) and whom to ask.

    The pages of higher apps are named, never imported: accounts sits below them."""
    if not request.user.is_authenticated:
        return redirect("sign-in")
    role = require_role(request.user)
    if role in (Role.REVIEWER, Role.SENIOR_REVIEWER):
        return redirect("case-queue")
    if role == Role.ADMINISTRATOR:
        return redirect("admin:index")
    if role == Role.REPRESENTATIVE:
        return redirect("representing")
    if role == Role.DATA_STEWARD:
        return redirect("adjudication-queue")
    if role in ROLES_WITH_A_START_PAGE:
        return redirect("role-start")
    return redirect("my-record")


@require_GET
@login_required
def role_start(request: HttpRequest) -> HttpResponse:
    """What the signed-in person's role does in Scrutiny, for the roles without a work page."""
    role = require_role(request.user)  # no role, or two: the 403 that says so
    if role not in ROLES_WITH_A_START_PAGE:
        raise Http404("Your role starts elsewhere.")
    return render(request, "accounts/role_start.html", {"role": role, "roles": Role})
