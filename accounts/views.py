"""Signing in and out of the pages. Failed sign-ins are counted and locked out by django-axes."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


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
    if request.user.is_authenticated:
        return redirect("case-queue")
    return redirect("sign-in")
