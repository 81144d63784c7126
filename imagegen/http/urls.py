"""Public URLs when the frontend and the backend may live on different origins.

One origin (`make run`, or the export and the backend behind one proxy): every path stays
relative. Split origins (static files at APP_URL, the backend at API_URL): what the browser
sends to the backend (form posts, images, downloads, OAuth, share pages) goes to API_URL,
and the backend's redirects to pages go back to APP_URL.
"""

from imagegen.settings import get_settings

# Paths the backend serves itself; everything else is a page of the frontend.
BACKEND_PREFIXES = ("/api/", "/s/", "/c/", "/_event", "/_upload", "/ping", "/_health")


def backend(path: str) -> str:
    """A backend route as the browser must call it."""
    settings = get_settings()
    if settings.split_origins and path.startswith("/"):
        return f"{settings.backend_url}{path}"
    return path


def frontend(path: str) -> str:
    """A page as the backend must link to it (redirects after a form post)."""
    settings = get_settings()
    if settings.split_origins and path.startswith("/") and not path.startswith("//"):
        return f"{settings.app_url}{path}"
    return path


def absolute_backend(path: str) -> str:
    """A backend route as an absolute URL (emails, share links, OAuth callbacks)."""
    return f"{get_settings().backend_url}{path}"
