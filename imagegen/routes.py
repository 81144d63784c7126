"""Route paths in one place, so pages, links and HTTP handlers agree."""

HOME = "/"
LOGIN = "/login"
REGISTER = "/register"
BILLING = "/billing"
ACCOUNT = "/account"
ADMIN = "/admin"
# One image, large, over the gallery (a Reflex dynamic route).
IMAGE = "/images/[image_id]"
FORGOT_PASSWORD = "/forgot-password"
RESET_PASSWORD = "/reset-password"

API_LOGIN = "/api/auth/login"
API_REGISTER = "/api/auth/register"
API_LOGOUT = "/api/auth/logout"
API_HEALTH = "/api/health"
API_FORGOT_PASSWORD = "/api/auth/forgot-password"
API_RESET_PASSWORD = "/api/auth/reset-password"
API_VERIFY_EMAIL = "/api/auth/verify-email"

API_POLAR_WEBHOOK = "/api/webhooks/polar"
API_IMAGE_FILE = "/api/images/file"
API_IMAGE_DOWNLOAD = "/api/images/{image_id}/download"

# Reflex's own backend routes: its websocket and its upload endpoint.
REFLEX_EVENT = "/_event"
REFLEX_UPLOAD = "/_upload"

SESSION_COOKIE = "imagegen_session"


def oauth_start(provider: str) -> str:
    """Where "Continue with <provider>" goes."""
    return f"/api/auth/oauth/{provider}/start"


def oauth_callback(provider: str) -> str:
    """The redirect URI registered with the provider."""
    return f"/api/auth/oauth/{provider}/callback"


def image_download_url(image_id: object) -> str:
    """The owner-checked download route of an image."""
    return API_IMAGE_DOWNLOAD.format(image_id=image_id)


def normalize_path(path: str) -> str:
    """The production static server adds a trailing slash (`/login/`); compare without it."""
    return path.rstrip("/") or "/"


def share_path(token: str) -> str:
    """The public page of a shared image."""
    return f"/s/{token}"


def image_path(image_id: object) -> str:
    """The view of one image of the signed-in user's gallery."""
    return f"/images/{image_id}"
