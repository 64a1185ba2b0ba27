"""The ASGI application uvicorn serves (`township console`)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "township.console.settings")
application = get_asgi_application()
