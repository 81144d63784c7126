"""Route paths in one place, so pages, links and HTTP handlers agree."""

HOME = "/"
LOGIN = "/login"
REGISTER = "/register"
BILLING = "/billing"
ACCOUNT = "/account"

API_LOGIN = "/api/auth/login"
API_REGISTER = "/api/auth/register"
API_LOGOUT = "/api/auth/logout"
API_HEALTH = "/api/health"

SESSION_COOKIE = "imagegen_session"


def normalize_path(path: str) -> str:
    """The production static server adds a trailing slash (`/login/`); compare without it."""
    return path.rstrip("/") or "/"
