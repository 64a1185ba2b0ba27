"""The console's views, one module per page (see township/console/urls.py)."""
