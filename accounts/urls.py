from django.urls import path

from accounts.views import SignInView, SignOutView, front_door

urlpatterns = [
    path("", front_door, name="front-door"),
    path("sign-in/", SignInView.as_view(), name="sign-in"),
    path("sign-out/", SignOutView.as_view(next_page="sign-in"), name="sign-out"),
]
