"""One module per route; importing this package registers every page."""

from imagegen.pages import account, billing, home, login, password, register

__all__ = ["account", "billing", "home", "login", "password", "register"]
