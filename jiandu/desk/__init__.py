"""The editor's desk: a small server-rendered web app over jiandu.stages.review.

security.py  who may come in (loopback, or the JIANDU_DESK_TOKEN), CSRF tokens, headers
app.py       the Starlette app: pages and the POST actions, Jinja2 templates in templates/desk/
server.py    `jiandu desk` and the desk inside `jiandu serve` (uvicorn)
"""
