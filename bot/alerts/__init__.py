"""Email alerts of new opportunities (PRODUCT.md "Alerts")."""

from bot.alerts.fanout import opportunity_opened

__all__ = ["opportunity_opened"]
