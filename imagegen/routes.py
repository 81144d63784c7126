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
# Several of the user's images as one zip (a form post from the gallery's bulk select).
API_IMAGES_ZIP = "/api/images/zip"
# A ready "Export my data" archive: for its owner signed in, or through the emailed link.
API_EXPORT_DOWNLOAD = "/api/exports/{export_id}/download"
API_EXPORT_BY_TOKEN = "/api/exports/download"

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


def export_download_url(export_id: object) -> str:
    """The owner-checked download route of a data export."""
    return API_EXPORT_DOWNLOAD.format(export_id=export_id)


def collection_share_path(token: str) -> str:
    """The public page of a shared collection."""
    return f"/c/{token}"


def image_path(image_id: object) -> str:
    """The view of one image of the signed-in user's gallery."""
    return f"/images/{image_id}"
