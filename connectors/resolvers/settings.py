"""A resolver Context from jiandu's settings (the one place resolvers meet Settings)."""

from __future__ import annotations

from jiandu.connectors.resolvers.base import Context, RouteBases


def resolver_context(settings, client, *, allow_files: bool = False, offload=None) -> Context:
    return Context(client=client, bases=RouteBases.from_settings(settings), offload=offload,
                   max_bytes=settings.max_body_bytes, allow_private=settings.allow_private_hosts,
                   allow_files=allow_files, per_host_limit=settings.per_host_connections,
                   pdf_max_bytes=settings.pdf_max_bytes, pdf_max_pages=settings.pdf_max_pages)
