"""The remote-diagnostic web service (``pylondiag serve``): ``service.app.create_app(settings)``.

Layout: ``settings`` (paths, limits), ``db/`` (SQLAlchemy models, engine) + ``migrations/`` (Alembic),
``storage`` (evidence files with SHA-256, report cache), ``uploads`` (what is accepted), ``auth`` and
``access`` (accounts, sessions, CSRF, owner tokens, rate limits), ``cases`` / ``review`` / ``intake``
(the service layer), ``worker`` (diagnosis off the request path), ``api`` and ``web`` (routes),
``commands`` (serve, admin create-user, demo). See docs/service.md.
"""
