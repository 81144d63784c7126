"""One module per route; importing this package registers every page."""

from imagegen.pages import (
    account,
    admin,
    billing,
    home,
    image,
    login,
    not_found,
    password,
    register,
)

__all__ = [
    "account",
    "admin",
    "billing",
    "home",
    "image",
    "login",
    "not_found",
    "password",
    "register",
]
