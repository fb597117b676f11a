from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """Demo data (manage.py seed_demo). The rightmost app: it may import every other app, none imports it."""

    name = "demo"
    verbose_name = _("演示数据")
