"""The coding app: people code units of the store in a browser (``coding serve``).

:mod:`coding.app.desk` holds what the app does (which unit comes next, what
the page shows, how a decision is stored) and can be used without a web
server; :mod:`coding.app.web` serves it with Starlette and uvicorn, and the
page itself is plain HTML, CSS and JavaScript in ``static/``.
"""
