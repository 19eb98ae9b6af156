"""Error answers the way providers give them.

API errors are OpenAI-style JSON: ``{"error": {"message", "type", "param",
"code"}}``. Gateway errors are the HTML pages a reverse proxy in front of the
model servers returns when they are down, which clients expecting JSON must
survive.
"""

from http import HTTPStatus

from aiohttp import web


def api_error(
    status: int,
    message: str,
    error_type: str,
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = {
        "error": {"message": message, "type": error_type, "param": param, "code": code}
    }
    return web.json_response(body, status=status, headers=headers)


def server_error(status: int, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON 5xx as a model server under trouble returns it."""
    message = {
        503: "The model is overloaded or unavailable. Please try again later.",
    }.get(status, "The server had an error while processing your request.")
    return api_error(status, message, "server_error", headers=headers)


def gateway_page(status: int, headers: dict[str, str] | None = None) -> web.Response:
    """A reverse proxy's HTML error page, with no JSON in sight."""
    title = f"{status} {_phrase(status)}"
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return web.Response(
        status=status, text=page, content_type="text/html", headers=headers
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
