"""The OpenAPI 3.1 description of the HTTP routes in `imagegen.api` (served at
/api/openapi.json). The pages and live updates go over Reflex's websocket and are not here.
Tests hold every route to it with schemathesis.
"""

from typing import Any

from imagegen import routes
from imagegen.services.generation import STYLES

_TEXT = {"text/plain": {"schema": {"type": "string"}}}
_PNG = {"image/png": {"schema": {"type": "string"}}}
_HTML = {"text/html": {"schema": {"type": "string"}}}
_ZIP = {"application/zip": {"schema": {"type": "string"}}}
_ERROR = {
    "application/json": {
        "schema": {
            "type": "object",
            "properties": {"error": {"type": "string"}},
            "required": ["error"],
        }
    }
}


def _path(name: str) -> dict[str, Any]:
    """A required string path parameter."""
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _redirect(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
    }


_UNAVAILABLE = {
    "description": "The database or Redis is briefly unavailable (Retry-After: 5).",
    "content": {**_HTML, **_ERROR},
}
_CROSS_SITE = {"description": "Cross-site form post refused.", "content": _TEXT}
_NOT_FOUND = {"description": "No such thing (or not yours).", "content": _TEXT}


def _form(properties: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A browser form: whatever is missing or wrong comes back as a 303 to the form with a
    one-time message (and the fields worth keeping), never as a bare 4xx.
    """
    return {
        "required": False,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "properties": properties}
            }
        },
    }


def _form_post(summary: str, form: dict[str, Any], done: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "requestBody": form,
            "responses": {
                "303": _redirect(done),
                "403": _CROSS_SITE,
                "413": {"description": "The form is over 16 KB.", "content": _TEXT},
                "503": _UNAVAILABLE,
            },
        }
    }


_EMAIL = {"type": "string"}
_PASSWORD = {"type": "string"}
_ENGINES = {
    "type": "object",
    "properties": {
        "database": {"enum": ["ok", "down"]},
        "redis": {"enum": ["ok", "down"]},
    },
    "required": ["database", "redis"],
}


def _engines_check(summary: str, texts: tuple[str, str], **extra: Any) -> dict[str, Any]:
    """GET of a health check: 200 or 503 with the state of each engine and `extra` fields."""
    schema = {**_ENGINES, "properties": {**_ENGINES["properties"], **extra}}
    return {
        "get": {
            "summary": summary,
            "responses": {
                code: {"description": text, "content": {"application/json": {"schema": schema}}}
                for code, text in zip(("200", "503"), texts, strict=True)
            },
        }
    }


def openapi_schema() -> dict[str, Any]:
    """The document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "imagegen HTTP routes",
            "version": "1",
            "description": "Cookie-setting auth forms, health, metrics, image files, webhooks.",
        },
        "paths": {
            routes.API_LOGIN: _form_post(
                "Sign in (303 home with the session cookie, or back to the form with a message)",
                _form({"email": _EMAIL, "password": _PASSWORD}),
                "Home, or the login page with a one-time message.",
            ),
            routes.API_REGISTER: _form_post(
                "Create an account and sign in",
                _form({"name": {"type": "string"}, "email": _EMAIL, "password": _PASSWORD}),
                "Home, or the register page with a one-time message.",
            ),
            routes.API_LOGOUT: {
                "post": {
                    "summary": "End this session",
                    "responses": {
                        "303": _redirect("The login page."),
                        "403": _CROSS_SITE,
                        "503": _UNAVAILABLE,
                    },
                }
            },
            routes.API_FORGOT_PASSWORD: _form_post(
                "Send a password-reset link (the same answer for unknown emails)",
                _form({"email": _EMAIL}),
                "The forgot-password page saying a link was sent, or a message.",
            ),
            routes.API_RESET_PASSWORD: _form_post(
                "Set a new password with a reset link's token",
                _form({"token": {"type": "string"}, "password": _PASSWORD}),
                "The login page, or the reset page with a message.",
            ),
            routes.API_VERIFY_EMAIL: {
                "get": {
                    "summary": "Confirm an email address with the link's token",
                    "parameters": [
                        {"name": "token", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {"303": _redirect("Home with a message."), "503": _UNAVAILABLE},
                }
            },
            "/api/auth/oauth/{provider}/start": {
                "get": {
                    "summary": "Go to the provider's consent page (PKCE, state in Redis)",
                    "parameters": [
                        _path("provider"),
                        {"name": "link", "in": "query", "schema": {"enum": ["1"]}},
                    ],
                    "responses": {
                        "302": _redirect("The provider's consent page."),
                        "303": _redirect("The login page (linking needs a session)."),
                        "404": _NOT_FOUND,
                        "503": _UNAVAILABLE,
                    },
                }
            },
            "/api/auth/oauth/{provider}/callback": {
                "get": {
                    "summary": "The provider sends the user back here",
                    "parameters": [
                        _path("provider"),
                        {"name": "code", "in": "query", "schema": {"type": "string"}},
                        {"name": "state", "in": "query", "schema": {"type": "string"}},
                        {"name": "error", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "303": _redirect("Home, the account page, or the login page."),
                        "404": _NOT_FOUND,
                        "503": _UNAVAILABLE,
                    },
                }
            },
            routes.API_HEALTH: _engines_check(
                "Liveness: PostgreSQL and Redis answer",
                ("Both answer.", "One is down."),
                status={"enum": ["ok", "degraded"]},
            ),
            "/api/ready": _engines_check(
                "Readiness: engines answer and the schema is at the code's head",
                ("Ready.", "Not ready."),
                ready={"type": "boolean"},
                schema={"type": "string"},
            ),
            "/api/metrics": {
                "get": {
                    "summary": "Prometheus metrics (`Authorization: Bearer <METRICS_TOKEN>`)",
                    "responses": {
                        "200": {
                            "description": "Text exposition format.",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        "401": {"description": "No or a wrong bearer token.", "content": _TEXT},
                        "404": {"description": "METRICS_TOKEN is not set.", "content": _TEXT},
                        "503": _UNAVAILABLE,
                    },
                }
            },
            routes.API_IMAGE_FILE + "/{key}": {
                "get": {
                    "summary": "The owner's stored image (local storage), or a WebP thumbnail",
                    "parameters": [
                        _path("key"),
                        {"name": "w", "in": "query", "schema": {"type": "integer"}},
                    ],
                    "responses": {
                        "200": {
                            "description": "The image.",
                            "content": {
                                **_PNG,
                                "image/webp": {"schema": {"type": "string"}},
                            },
                        },
                        "304": {"description": "The browser's copy is current (ETag)."},
                        "404": _NOT_FOUND,
                        "503": _UNAVAILABLE,
                    },
                }
            },
            routes.API_IMAGE_DOWNLOAD: {
                "get": {
                    "summary": "Download the owner's image as a file",
                    "parameters": [_path("image_id")],
                    "responses": {
                        "200": {
                            "description": "The PNG as an attachment.",
                            "content": _PNG,
                        },
                        "302": _redirect("ImageKit's URL with ik-attachment."),
                        "304": {"description": "The browser's copy is current (ETag)."},
                        "404": _NOT_FOUND,
                        "503": _UNAVAILABLE,
                    },
                }
            },
            "/s/{token}": {
                "get": {
                    "summary": "The public page of a shared image (Open Graph tags included)",
                    "parameters": [_path("token")],
                    "responses": {
                        "200": {"description": "The page.", "content": _HTML},
                        "404": {"description": "Not shared (any more).", "content": _HTML},
                        "503": _UNAVAILABLE,
                    },
                }
            },
            "/s/{token}/image.png": {
                "get": {
                    "summary": "The picture of a shared image",
                    "parameters": [_path("token")],
                    "responses": {
                        "200": {
                            "description": "The PNG.",
                            "content": _PNG,
                        },
                        "302": _redirect("The CDN's URL (ImageKit)."),
                        "404": {"description": "Not shared (any more).", "content": _HTML},
                        "503": _UNAVAILABLE,
                    },
                }
            },
            routes.API_IMAGES_ZIP: {
                "post": {
                    "summary": "Several of the signed-in user's images as one zip (streamed)",
                    "requestBody": _form(
                        {"ids": {"type": "string", "description": "Image ids, comma-separated."}}
                    ),
                    "responses": {
                        "200": {
                            "description": "The zip as an attachment.",
                            "content": _ZIP,
                        },
                        "403": _CROSS_SITE,
                        "404": {
                            "description": "Not signed in, no ids, or an id that is not yours.",
                            "content": _TEXT,
                        },
                        "413": {"description": "The form is over 64 KB.", "content": _TEXT},
                        "503": _UNAVAILABLE,
                    },
                }
            },
            routes.API_EXPORT_DOWNLOAD: {
                "get": {
                    "summary": "The signed-in owner's data export, while its link lasts",
                    "parameters": [_path("export_id")],
                    "responses": {
                        "200": {"description": "The archive.", "content": _ZIP},
                        "404": _NOT_FOUND,
                        "503": _UNAVAILABLE,
                    },
                }
            },
            routes.API_EXPORT_BY_TOKEN: {
                "get": {
                    "summary": "A data export through its emailed link (24 hours)",
                    "parameters": [{"name": "token", "in": "query", "schema": {"type": "string"}}],
                    "responses": {
                        "200": {"description": "The archive.", "content": _ZIP},
                        "404": {"description": "Unknown or expired link.", "content": _TEXT},
                        "503": _UNAVAILABLE,
                    },
                }
            },
            "/c/{token}": {
                "get": {
                    "summary": "The public page of a shared collection",
                    "parameters": [_path("token")],
                    "responses": {
                        "200": {"description": "The page.", "content": _HTML},
                        "404": {"description": "Not shared (any more).", "content": _HTML},
                        "503": _UNAVAILABLE,
                    },
                }
            },
            "/c/{token}/{image_id}.png": {
                "get": {
                    "summary": "A picture of a shared collection (`?w=512`: a thumbnail)",
                    "parameters": [
                        _path("token"),
                        _path("image_id"),
                        {"name": "w", "in": "query", "schema": {"type": "integer"}},
                    ],
                    "responses": {
                        "200": {
                            "description": "The image.",
                            "content": {**_PNG, "image/webp": {"schema": {"type": "string"}}},
                        },
                        "302": _redirect("The CDN's URL (ImageKit)."),
                        "404": {"description": "Not in a shared collection.", "content": _HTML},
                        "503": _UNAVAILABLE,
                    },
                }
            },
            routes.API_POLAR_WEBHOOK: {
                "post": {
                    "summary": "Polar webhooks (Standard Webhooks signature, applied once)",
                    "parameters": [
                        {"name": name, "in": "header", "schema": {"type": "string"}}
                        for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
                    ],
                    "requestBody": {
                        "content": {"application/json": {"schema": {"type": "object"}}}
                    },
                    "responses": {
                        "200": {
                            "description": "Applied, duplicate or stale.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "202": {
                            "description": "Accepted and ignored.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "400": {"description": "Malformed payload.", "content": _ERROR},
                        "403": {"description": "Bad or missing signature.", "content": _ERROR},
                        "413": {"description": "Body too large.", "content": _ERROR},
                        "503": _UNAVAILABLE,
                    },
                }
            },
        },
    }


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_V1_ERROR = {"$ref": "#/components/schemas/Error"}
_V1_IMAGE = {"$ref": "#/components/schemas/Image"}


_CONTROL = "\\x00-\\x1f\\x7f-\\x9f\\ud800-\\udfff"
_PROMPT_CHAR = "[^\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\ud800-\\udfff]"


def _v1_errors(*codes: str) -> dict[str, Any]:
    texts = {
        "400": "Invalid request (OpenAI's error shape).",
        "401": "Missing, wrong or revoked API key.",
        "402": "Out of credits (nothing was charged).",
        "404": "No such image, collection or export (or not yours).",
        "409": "An export is already being prepared.",
        "413": "The body is over 64 KB.",
        "429": "Too many requests per minute, or too many images in progress.",
        "500": "Every image of the request failed; the credits were refunded.",
        "503": "The database or Redis is briefly unavailable.",
    }
    return {code: _json(_V1_ERROR, texts[code]) for code in codes}


def openapi_v1_schema() -> dict[str, Any]:
    """The REST API (compatible with OpenAI's images API), served at /api/v1/openapi.json."""
    nullable_string = {"type": ["string", "null"]}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "imagegen API",
            "version": "1",
            "description": (
                "OpenAI-compatible image generation. Point an OpenAI client at `<site>/api/v1` "
                "with an API key from your account page. Credits, limits and the queue are "
                "the same as in the app; images made here appear live in your gallery."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"apiKey": []}],
        "paths": {
            "/images/generations": {
                "post": {
                    "summary": "Generate images (waits for them; `async: true` answers at once)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/GenerationRequest"}
                            }
                        },
                    },
                    "responses": {
                        "200": _json(
                            {"$ref": "#/components/schemas/GenerationResponse"}, "The images."
                        ),
                        "202": _json(
                            {"$ref": "#/components/schemas/Accepted"},
                            "Queued (async, or still running after the wait).",
                        ),
                        **_v1_errors("400", "401", "402", "413", "429", "500", "503"),
                    },
                }
            },
            "/images": {
                "get": {
                    "summary": "Your images, newest first",
                    "parameters": [
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                        },
                        {
                            "name": "after",
                            "in": "query",
                            "description": (
                                "The last id of the previous page (anything that is not one "
                                "of your images gives an empty page)."
                            ),
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "favorites",
                            "in": "query",
                            "description": "true: only images with a heart.",
                            "schema": {"enum": ["true", "false"]},
                        },
                        {
                            "name": "order",
                            "in": "query",
                            "description": "desc (newest first, the default) or asc.",
                            "schema": {"enum": ["asc", "desc"]},
                        },
                        {
                            "name": "search",
                            "in": "query",
                            "description": "Words the prompt must all have ('cats' finds 'cat').",
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "object": {"const": "list"},
                                    "data": {"type": "array", "items": _V1_IMAGE},
                                    "has_more": {"type": "boolean"},
                                    "last_id": nullable_string,
                                },
                                "required": ["object", "data", "has_more", "last_id"],
                            },
                            "A page.",
                        ),
                        **_v1_errors("400", "401", "503"),
                    },
                }
            },
            "/images/{image_id}": {
                "get": {
                    "summary": "One of your images",
                    "parameters": [_path("image_id")],
                    "responses": {
                        "200": _json(_V1_IMAGE, "The image."),
                        **_v1_errors("401", "404", "503"),
                    },
                },
                "delete": {
                    "summary": "Delete an image (restorable for UNDO_DELETE_SECONDS)",
                    "parameters": [_path("image_id")],
                    "responses": {
                        "200": _json(_DELETED, "Deleted."),
                        **_v1_errors("401", "404", "503"),
                    },
                },
            },
            **_library_paths(),
        },
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {
                                "message": {"type": "string"},
                                "type": {"type": "string"},
                                "param": nullable_string,
                                "code": nullable_string,
                            },
                            "required": ["message", "type"],
                        }
                    },
                    "required": ["error"],
                },
                "GenerationRequest": {
                    "type": "object",
                    "properties": {
                        "prompt": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 4000,
                            # Something besides spaces; no control characters but newline/tab.
                            "pattern": f"^{_PROMPT_CHAR}*[^\\s{_CONTROL}]{_PROMPT_CHAR}*$",
                        },
                        "n": {
                            "type": ["integer", "null"],
                            "minimum": 1,
                            "maximum": 4,
                            "description": "Default 1.",
                        },
                        "size": {
                            "enum": ["1024x1024", "1536x1024", "1024x1536", "auto", None],
                            "description": "Default 1024x1024 (also for auto).",
                        },
                        "quality": {
                            "enum": ["low", "medium", "high", "auto", "standard", "hd", None],
                            "description": "Default medium (also for auto and standard).",
                        },
                        "style": {
                            "enum": [*STYLES, "vivid", "natural", None],
                            "description": "A style preset; dall-e-3's vivid and natural are "
                            "accepted and ignored.",
                        },
                        "model": {
                            "type": ["string", "null"],
                            "description": "Accepted and ignored.",
                        },
                        "response_format": {"enum": ["url", "b64_json", None]},
                        "async": {"type": "boolean"},
                    },
                    "required": ["prompt"],
                },
                "GenerationResponse": {
                    "type": "object",
                    "properties": {
                        "created": {"type": "integer"},
                        "data": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "id": {"type": "string"},
                                    "url": {"type": "string"},
                                    "b64_json": {"type": "string"},
                                    "revised_prompt": nullable_string,
                                },
                                "required": ["id"],
                            },
                        },
                    },
                    "required": ["created", "data"],
                },
                "Accepted": {
                    "type": "object",
                    "properties": {
                        "created": {"type": "integer"},
                        "data": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "id": {"type": "string"},
                                    "status": {"type": "string"},
                                },
                                "required": ["id", "status"],
                            },
                        },
                    },
                    "required": ["created", "data"],
                },
                **_LIBRARY_SCHEMAS,
                "Image": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "object": {"const": "image"},
                        "status": {
                            "enum": ["queued", "generating", "completed", "failed", "cancelled"]
                        },
                        "prompt": {"type": "string"},
                        "size": {"type": "string"},
                        "quality": {"type": "string"},
                        "style": nullable_string,
                        "created": {"type": "integer"},
                        "completed": {"type": ["integer", "null"]},
                        "url": nullable_string,
                        "error": nullable_string,
                        "queue_position": {
                            "type": ["integer", "null"],
                            "minimum": 1,
                            "description": "While queued: the place in line under the fair "
                            "queue's policy (1 = next); null otherwise.",
                        },
                        "eta_seconds": {
                            "type": ["integer", "null"],
                            "minimum": 1,
                            "description": "While queued: estimated seconds until the image "
                            "is ready, from recent job durations; null otherwise.",
                        },
                        "favorite": {"type": "boolean"},
                    },
                    "required": ["id", "object", "status", "prompt", "created", "url"],
                },
            },
        },
    }


_IMAGE_LIST = {
    "type": "object",
    "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": _V1_IMAGE}},
    "required": ["object", "data"],
}
_COLLECTION = {"$ref": "#/components/schemas/Collection"}
_EXPORT = {"$ref": "#/components/schemas/Export"}
_DELETED = {"$ref": "#/components/schemas/Deleted"}
_IDS = {
    "type": "array",
    "minItems": 1,
    "maxItems": 1000,
    "items": {"type": "string"},
    "description": "Ids of your images (any other id: 404, and nothing changes).",
}


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": properties,
                    "required": required,
                    "additionalProperties": False,
                }
            }
        },
    }


_IDS_BODY = _body({"ids": _IDS}, ["ids"])
_NAME_BODY = _body({"name": {"type": "string", "maxLength": 200}}, ["name"])
_ZIP_RESPONSE = {
    "description": "The zip, streamed.",
    "content": {"application/zip": {"schema": {"type": "string"}}},
}

_LIBRARY_SCHEMAS: dict[str, Any] = {
    "Collection": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "object": {"const": "collection"},
            "name": {"type": "string"},
            "image_count": {"type": ["integer", "null"]},
            "created": {"type": "integer"},
            "share_url": {"type": ["string", "null"]},
        },
        "required": ["id", "object", "name", "created", "share_url"],
    },
    "Export": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "object": {"const": "export"},
            "status": {"enum": ["pending", "ready", "failed", "expired"]},
            "created": {"type": "integer"},
            "expires": {"type": ["integer", "null"]},
            "size_bytes": {"type": ["integer", "null"]},
            "image_count": {"type": ["integer", "null"]},
            "download_url": {"type": ["string", "null"]},
        },
        "required": ["id", "object", "status", "created", "download_url"],
    },
    "Deleted": {
        "type": "object",
        "properties": {
            "object": {"const": "list"},
            "deleted": {"type": "array", "items": {"type": "string"}},
            "restorable_until": {"type": "integer"},
        },
        "required": ["object", "deleted", "restorable_until"],
    },
}


def _collection_id() -> list[dict[str, Any]]:
    return [_path("collection_id")]


def _library_paths() -> dict[str, Any]:
    """Favorites, delete/restore, zip download, collections and exports."""
    return {
        "/images/favorite": {
            "post": {
                "summary": "Put hearts on (favorite: true, the default) or take them off images",
                "requestBody": _body({"ids": _IDS, "favorite": {"type": "boolean"}}, ["ids"]),
                "responses": {
                    "200": _json(_IMAGE_LIST, "The images."),
                    **_v1_errors("400", "401", "404", "413", "503"),
                },
            }
        },
        "/images/{image_id}/favorite": {
            method: {
                "summary": summary,
                "parameters": [_path("image_id")],
                "responses": {
                    "200": _json(_V1_IMAGE, "The image."),
                    **_v1_errors("401", "404", "503"),
                },
            }
            for method, summary in (("put", "Heart on"), ("delete", "Heart off"))
        },
        "/images/delete": {
            "post": {
                "summary": "Delete images, all or none (restorable for UNDO_DELETE_SECONDS)",
                "requestBody": _IDS_BODY,
                "responses": {
                    "200": _json(_DELETED, "Deleted."),
                    **_v1_errors("400", "401", "404", "413", "503"),
                },
            }
        },
        "/images/restore": {
            "post": {
                "summary": "Undo a delete, while the undo window lasts",
                "requestBody": _IDS_BODY,
                "responses": {
                    "200": _json(_IMAGE_LIST, "The images, back."),
                    **_v1_errors("400", "401", "404", "413", "503"),
                },
            }
        },
        "/images/download": {
            "post": {
                "summary": "Several images as one zip (streamed)",
                "requestBody": _IDS_BODY,
                "responses": {
                    "200": _ZIP_RESPONSE,
                    **_v1_errors("400", "401", "404", "413", "503"),
                },
            }
        },
        "/collections": {
            "get": {
                "summary": "Your collections, by name",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "object": {"const": "list"},
                                "data": {"type": "array", "items": _COLLECTION},
                            },
                            "required": ["object", "data"],
                        },
                        "The collections.",
                    ),
                    **_v1_errors("401", "503"),
                },
            },
            "post": {
                "summary": "Create a collection",
                "requestBody": _NAME_BODY,
                "responses": {
                    "201": _json(_COLLECTION, "Created."),
                    **_v1_errors("400", "401", "413", "503"),
                },
            },
        },
        "/collections/{collection_id}": {
            "get": {
                "summary": "One of your collections",
                "parameters": _collection_id(),
                "responses": {
                    "200": _json(_COLLECTION, "The collection."),
                    **_v1_errors("401", "404", "503"),
                },
            },
            "patch": {
                "summary": "Rename a collection",
                "parameters": _collection_id(),
                "requestBody": _NAME_BODY,
                "responses": {
                    "200": _json(_COLLECTION, "Renamed."),
                    **_v1_errors("400", "401", "404", "413", "503"),
                },
            },
            "delete": {
                "summary": "Delete a collection (its images stay in your gallery)",
                "parameters": _collection_id(),
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "id": {"type": "string"},
                                "object": {"const": "collection"},
                                "deleted": {"const": True},
                            },
                            "required": ["id", "object", "deleted"],
                        },
                        "Deleted.",
                    ),
                    **_v1_errors("401", "404", "503"),
                },
            },
        },
        "/collections/{collection_id}/images": {
            "get": {
                "summary": "The images of a collection, newest first",
                "parameters": [
                    *_collection_id(),
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                    },
                    {
                        "name": "offset",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
                    },
                ],
                "responses": {
                    "200": _json(
                        {
                            **_IMAGE_LIST,
                            "properties": {
                                **_IMAGE_LIST["properties"],
                                "has_more": {"type": "boolean"},
                            },
                        },
                        "A page.",
                    ),
                    **_v1_errors("400", "401", "404", "503"),
                },
            },
            "post": {
                "summary": "Add images to a collection",
                "parameters": _collection_id(),
                "requestBody": _IDS_BODY,
                "responses": {
                    "200": _json(_COLLECTION, "The collection."),
                    **_v1_errors("400", "401", "404", "413", "503"),
                },
            },
        },
        "/collections/{collection_id}/images/remove": {
            "post": {
                "summary": "Take images out of a collection (they stay in your gallery)",
                "parameters": _collection_id(),
                "requestBody": _IDS_BODY,
                "responses": {
                    "200": _json(_COLLECTION, "The collection."),
                    **_v1_errors("400", "401", "404", "413", "503"),
                },
            }
        },
        "/collections/{collection_id}/share": {
            method: {
                "summary": summary,
                "parameters": _collection_id(),
                "responses": {
                    "200": _json(_COLLECTION, "The collection (with or without share_url)."),
                    **_v1_errors("401", "404", "503"),
                },
            }
            for method, summary in (
                ("put", "Share: a public page listing the collection's finished images"),
                ("delete", "Stop sharing: the link answers 404 from now on"),
            )
        },
        "/exports": {
            "post": {
                "summary": "Export all your data: a zip of every image plus data.json",
                "responses": {
                    "202": _json(_EXPORT, "Being prepared; poll GET /exports/{id}."),
                    **_v1_errors("401", "409", "503"),
                },
            }
        },
        "/exports/{export_id}": {
            "get": {
                "summary": "An export's status, with download_url once ready (24 hours)",
                "parameters": [_path("export_id")],
                "responses": {
                    "200": _json(_EXPORT, "The export."),
                    **_v1_errors("401", "404", "503"),
                },
            }
        },
        "/exports/{export_id}/download": {
            "get": {
                "summary": "The export's archive",
                "parameters": [_path("export_id")],
                "responses": {
                    "200": {
                        "description": "The archive.",
                        "content": {"application/zip": {"schema": {"type": "string"}}},
                    },
                    **_v1_errors("401", "404", "503"),
                },
            }
        },
    }
