from django.apps import AppConfig


class FlagsConfig(AppConfig):
    name = "flags"
    verbose_name = "Flags and the workforce register"
