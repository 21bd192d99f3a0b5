"""A ceiling on request bodies, so no client can make the service buffer megabytes."""

from fastapi import HTTPException, status
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024
TOO_LARGE = "Request body over 1 MiB"


class BodySizeLimit:
    """Answer 413 to a request whose body is larger than ``MAX_BODY_BYTES``.

    A declared Content-Length over the limit is refused before the app runs; a body
    sent in chunks is counted as it is read and refused once it passes the limit.
    (FastAPI's own ``max_body_size`` answers in plain text when the route never
    reads the body; every error here is JSON.)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            response = JSONResponse(
                status_code=status.HTTP_413_CONTENT_TOO_LARGE,
                content={"detail": TOO_LARGE},
            )
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > MAX_BODY_BYTES:
                # Raised inside the route's body parsing: FastAPI passes it on to
                # the exception handlers, which answer with this status and detail.
                raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, TOO_LARGE)
            return message

        await self.app(scope, counted, send)
