"""The admin dashboard at `<mount>/ui/` (and at `/ui/` on the standalone server): server-rendered pages
(Jinja2) over the same code the admin API uses, for keys whose role has `admin: true`.

Importing this package loads nothing heavy: `settings.py` is read by the configuration; `app.py` (the ASGI
app, Jinja2) is imported by the router on the first request under `/ui`.
"""
