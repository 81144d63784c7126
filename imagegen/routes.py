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

API_OAUTH_START = "/api/auth/oauth/{provider}/start"
API_OAUTH_CALLBACK = "/api/auth/oauth/{provider}/callback"
API_READY = "/api/ready"
API_METRICS = "/api/metrics"
API_OPENAPI = "/api/openapi.json"

API_POLAR_WEBHOOK = "/api/webhooks/polar"
API_IMAGE_FILE = "/api/images/file"
API_IMAGE_DOWNLOAD = "/api/images/{image_id}/download"
# Several of the user's images as one zip (a form post from the gallery's bulk select).
API_IMAGES_ZIP = "/api/images/zip"
# A ready "Export my data" archive: for its owner signed in, or through the emailed link.
API_EXPORT_DOWNLOAD = "/api/exports/{export_id}/download"
API_EXPORT_BY_TOKEN = "/api/exports/download"

# Public pages of a shared image and a shared collection (rendered on the server).
SHARE_PAGE = "/s/{token}"
SHARE_IMAGE = "/s/{token}/image.png"
COLLECTION_PAGE = "/c/{token}"
COLLECTION_IMAGE = "/c/{token}/{image_id}.png"

# The REST API (OpenAI-compatible images, plus the library).
API_V1 = "/api/v1"
API_V1_OPENAPI = "/api/v1/openapi.json"
API_V1_GENERATIONS = "/api/v1/images/generations"
API_V1_IMAGES = "/api/v1/images"
API_V1_IMAGE = "/api/v1/images/{image_id}"
API_V1_IMAGE_FAVORITE = "/api/v1/images/{image_id}/favorite"
API_V1_IMAGE_VARIATIONS = "/api/v1/images/{image_id}/variations"
API_V1_FAVORITE = "/api/v1/images/favorite"
API_V1_DELETE = "/api/v1/images/delete"
API_V1_RESTORE = "/api/v1/images/restore"
API_V1_DOWNLOAD = "/api/v1/images/download"
API_V1_COLLECTIONS = "/api/v1/collections"
API_V1_COLLECTION = "/api/v1/collections/{collection_id}"
API_V1_COLLECTION_IMAGES = "/api/v1/collections/{collection_id}/images"
API_V1_COLLECTION_IMAGES_REMOVE = "/api/v1/collections/{collection_id}/images/remove"
API_V1_COLLECTION_SHARE = "/api/v1/collections/{collection_id}/share"
API_V1_EXPORTS = "/api/v1/exports"
API_V1_EXPORT = "/api/v1/exports/{export_id}"
API_V1_EXPORT_DOWNLOAD = "/api/v1/exports/{export_id}/download"

# Reflex's own backend routes: its websocket and its upload endpoint.
REFLEX_EVENT = "/_event"
REFLEX_UPLOAD = "/_upload"

SESSION_COOKIE = "imagegen_session"


def oauth_start(provider: str) -> str:
    """Where "Continue with <provider>" goes."""
    return API_OAUTH_START.format(provider=provider)


def oauth_callback(provider: str) -> str:
    """The redirect URI registered with the provider."""
    return API_OAUTH_CALLBACK.format(provider=provider)


def image_download_url(image_id: object) -> str:
    """The owner-checked download route of an image."""
    return API_IMAGE_DOWNLOAD.format(image_id=image_id)


def normalize_path(path: str) -> str:
    """The production static server adds a trailing slash (`/login/`); compare without it."""
    return path.rstrip("/") or "/"


def share_path(token: str) -> str:
    """The public page of a shared image."""
    return SHARE_PAGE.format(token=token)


def export_download_url(export_id: object) -> str:
    """The owner-checked download route of a data export."""
    return API_EXPORT_DOWNLOAD.format(export_id=export_id)


def collection_share_path(token: str) -> str:
    """The public page of a shared collection."""
    return COLLECTION_PAGE.format(token=token)


def image_path(image_id: object) -> str:
    """The view of one image of the signed-in user's gallery."""
    return f"/images/{image_id}"
