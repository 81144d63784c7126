"""One module per route; importing this package registers every page."""

from imagegen.pages import account, billing, home, login, register

__all__ = ["account", "billing", "home", "login", "register"]
