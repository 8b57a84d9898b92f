from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demonstration: a synthetic force and a sign-in per role. On top of every other app,
    and imported by none of them."""

    name = "demo"
    verbose_name = "Demonstration"
