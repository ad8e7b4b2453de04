"""A service app mounted in the gateway's process, entered at its router.

A FastAPI app wraps its router in layers of its own: a server-error handler, telemetry, a
body-size limit, the exception handlers and an exit stack. Inside the gateway, whose own
app object has just run the same layers around the request, a second round costs CPU on
every request and changes nothing: the mounted app's exception handlers are the
gateway's (both from :func:`common.http.install_error_handlers`), so an error raised in
the service propagates to the gateway's layers and gets the same answer. What stays is
the service's own middleware (its metrics) around its router, with the scope naming the
service's app, as its routes and dependencies read its state there.

An app whose handlers differ from the host's is entered whole, as before.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send


class RouterEntry:
    """``app``'s user middleware and router, as ``app`` would run them inside its layers."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        inner: ASGIApp = app.router
        for cls, args, kwargs in reversed(app.user_middleware):
            inner = cls(inner, *args, **kwargs)
        self._inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self.app  # as Starlette.__call__ sets it
        await self._inner(scope, receive, send)


def _handlers(app: Starlette) -> dict[Any, Any]:
    """The exception handlers of ``app`` by what they handle, compared by their code (each
    app has its own function objects)."""
    return {kind: getattr(handler, "__code__", handler)
            for kind, handler in app.exception_handlers.items()}


def entered(app: ASGIApp, *, host: Starlette) -> ASGIApp:
    """What the gateway calls for a mounted ``app``: its router entry when its layers are
    the host's (same exception handlers, same body limit, no root path of its own), else
    ``app`` itself."""
    if not isinstance(app, Starlette):
        return app
    same = (_handlers(app) == _handlers(host) and app.debug == host.debug
            and not getattr(app, "root_path", None)
            and getattr(app, "max_body_size", None) == getattr(host, "max_body_size", None))
    return RouterEntry(app) if same else app
