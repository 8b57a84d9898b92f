from django.contrib.admin.apps import AdminConfig


class ReadOnlyAdminConfig(AdminConfig):
    """Django's admin on the read-only site (``config.admin_site``)."""

    default_site = "config.admin_site.ReadOnlyAdminSite"
