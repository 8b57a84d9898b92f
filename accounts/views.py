"""Signing in and out of the pages. Failed sign-ins are counted and locked out by django-axes."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

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


def front_door(request: HttpRequest) -> HttpResponse:
    """Each role's starting page: the work queue for reviewers, the admin for administrators,
    and for everyone else the notices about cases concerning them. A person with no role, or
    several, is told so (403) and whom to ask."""
    if not request.user.is_authenticated:
        return redirect("sign-in")
    role = require_role(request.user)
    if role in (Role.REVIEWER, Role.SENIOR_REVIEWER):
        return redirect("case-queue")
    if role == Role.ADMINISTRATOR:
        return redirect("admin:index")
    return redirect("my-notices")
