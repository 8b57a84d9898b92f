from django.urls import path

from accounts.views import SignInView, SignOutView, front_door, role_start

urlpatterns = [
    path("", front_door, name="front-door"),
    path("your-role/", role_start, name="role-start"),
    path("sign-in/", SignInView.as_view(), name="sign-in"),
    path("sign-out/", SignOutView.as_view(next_page="sign-in"), name="sign-out"),
]
