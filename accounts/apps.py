from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        post_migrate.connect(_install_role_groups, sender=self)


def _install_role_groups(**kwargs: Any) -> None:
    from accounts.roles import install_role_groups

    install_role_groups(using=kwargs.get("using", "default"))
