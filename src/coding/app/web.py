"""The coding app's web server: Starlette routes over :mod:`coding.app.desk`,
served by uvicorn on 127.0.0.1 with a random token.

Every request must carry the token: in the address (``?token=``, which also
sets a cookie for the page's own assets and the report), or, for the page's
calls, in the ``X-Token`` header. Requests that change something are POSTs
and must carry the header (a cookie alone does not do: another site cannot
set it). The page names its desk in ``X-Desk``.
"""

from __future__ import annotations

import secrets
import socket
import sys
import threading
import webbrowser
from importlib import resources
from pathlib import Path

from coding.app.desk import Options, Workbench, agreement_rows
from coding.errors import CodingError
from coding.records import StrPath
from coding.store import UnitChanged

COOKIE = "coding_token"
STATIC = ("app.js", "app.css")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _static(name: str) -> str:
    return (resources.files("coding") / "app" / "static" / name).read_text(encoding="utf-8")


def _given_token(request) -> str:
    return request.headers.get("x-token") or request.query_params.get("token") or request.cookies.get(COOKIE) or ""


def make_app(bench: Workbench, token: str):
    """The Starlette application of the coding app on ``bench``."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.base import BaseHTTPMiddleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def guard(request, call_next):
        given = request.headers.get("x-token", "") if request.method != "GET" else _given_token(request)
        if not secrets.compare_digest(given.encode(), token.encode()):
            return PlainTextResponse("forbidden: this address needs the token 'coding serve' printed", 403)
        response = await call_next(request)
        if request.query_params.get("token"):
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        response.headers["Cache-Control"] = "no-store"
        return response

    routes = [Route("/", _page(token)), Route("/static/{name}", _asset),
              Route("/api/setup", _json(bench, _setup)), Route("/api/desk", _json(bench, _open), methods=["POST"]),
              Route("/api/unit", _json(bench, _unit)), Route("/api/decision", _json(bench, _decide), methods=["POST"]),
              Route("/api/summary", _json(bench, _summary)), Route("/api/agreement", _json(bench, _agreement)),
              Route("/report/{path:path}", _report(bench))]
    return Starlette(routes=routes, middleware=[Middleware(BaseHTTPMiddleware, dispatch=guard)])


def _page(token: str):
    from starlette.responses import HTMLResponse

    def page(request):
        return HTMLResponse(_static("index.html").replace("{{token}}", token))
    return page


def _asset(request):
    from starlette.responses import PlainTextResponse, Response

    name = request.path_params["name"]
    if name not in STATIC:
        return PlainTextResponse("not found", 404)
    kind = "text/javascript" if name.endswith(".js") else "text/css"
    return Response(_static(name), media_type=f"{kind}; charset=utf-8")


def _json(bench: Workbench, handler):
    """A route that answers JSON: 400 with the message on bad input, 403 on
    writing under another's name, 409 when the unit changed, 404 for an
    unknown desk."""
    from starlette.responses import JSONResponse

    async def route(request):
        from starlette.concurrency import run_in_threadpool

        try:
            body = await request.json() if request.method == "POST" else {}
            if not isinstance(body, dict):
                raise ValueError("a JSON object is expected")
            return JSONResponse(await run_in_threadpool(handler, bench, request, body))
        except PermissionError as exc:
            return JSONResponse({"error": str(exc)}, 403)
        except LookupError as exc:
            return JSONResponse({"error": str(exc.args[0])}, 404)
        except UnitChanged as exc:
            return JSONResponse({"error": str(exc)}, 409)
        except CodingError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        except (TypeError, ValueError) as exc:
            return JSONResponse({"error": f"bad request: {exc}"}, 400)
    return route


def _desk(bench: Workbench, request):
    desk = bench.desks.get(request.headers.get("x-desk", ""))
    if desk is None:
        raise LookupError("no such desk (the server was restarted): start again from the first page")
    return desk


def _setup(bench: Workbench, request, body) -> dict:
    o = bench.options
    store = bench.store()
    return {"coder": o.coder, "mode": o.mode, "order": o.order, "n": o.n, "seed": o.seed, "coders": list(o.coders),
            "consensus": o.consensus, "machine": o.machine, "known": store.coder_names(),
            "codebook": bench.codebook_view()}


def _open(bench: Workbench, request, body) -> dict:
    coders = tuple(c.strip() for c in str(body.get("coders") or "").split(",") if c.strip())
    n = body.get("n")
    desk = bench.open_desk(body.get("person", ""), body.get("mode") or None, body.get("order") or None,
                           int(n) if n not in (None, "") else None,
                           int(body["seed"]) if body.get("seed") not in (None, "") else None, coders or None)
    return desk.describe()


def _unit(bench: Workbench, request, body) -> dict:
    return _desk(bench, request).view(int(request.query_params.get("index", "0")))


def _decide(bench: Workbench, request, body) -> dict:
    desk = _desk(bench, request)
    return desk.decide(str(body["unit_id"]), list(body.get("items") or []), str(body.get("text_hash", "")),
                       str(body.get("coder", "")), str(body.get("reason", "")))


def _summary(bench: Workbench, request, body) -> dict:
    return _desk(bench, request).summary()


def _agreement(bench: Workbench, request, body) -> dict:
    desk = _desk(bench, request)
    other = request.query_params.get("with", "")
    coders = [desk.coder, other]
    return {"coders": coders, "rows": agreement_rows(bench, coders),
            "command": f"coding agree --coders {desk.coder},{other} --store {bench.path}"}


def _report(bench: Workbench):
    from starlette.responses import FileResponse, PlainTextResponse

    root = bench.path.parent.resolve()

    def report(request):
        path = (root / request.path_params["path"]).resolve()
        if root not in path.parents or not path.is_file() or ".sqlite" in path.name:  # the store is not a page
            return PlainTextResponse("not found", 404)
        return FileResponse(path)
    return report


def serve(store: StrPath, options: Options | None = None, *, host: str = "127.0.0.1", port: int = 0,
          open_browser: bool = True, token: str | None = None, announce=print) -> None:
    """Serve the coding app on ``store`` until interrupted. ``port`` 0 takes
    a free port; the address with the token is passed to ``announce`` (and
    opened in the browser unless ``open_browser`` is false)."""
    import uvicorn

    bench = Workbench(store, options)
    token = token or secrets.token_urlsafe(24)
    if host not in LOOPBACK:
        print(f"coding: warning: serving on {host}: anyone who can reach this machine and has the address with "
              "its token can read and code this store", file=sys.stderr)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # connections accepted from it inherit this: a response's headers and body go out at once instead of the
    # body waiting for the browser's delayed ACK of the headers (~40 ms a request on a kept-alive connection)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)  # a browser opened at once waits in the queue instead of being refused
    except OSError as exc:
        raise CodingError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    url = f"http://{_url_host(host)}:{sock.getsockname()[1]}/?token={token}"
    announce(url)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, [url]).start()
    config = uvicorn.Config(make_app(bench, token), log_level="warning", lifespan="off", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def static_folder() -> Path:
    """Where the page's files are (the package data)."""
    return Path(str(resources.files("coding") / "app" / "static"))
