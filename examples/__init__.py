"""Sample sources for `python -m jiandu.demo`: feeds, pages, notes and clippings (data only)."""
