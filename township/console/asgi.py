"""The ASGI application uvicorn serves (`township console`).

It refuses to start without `TOWNSHIP_SECRET_KEY`: a key made up per process would sign sessions
and CSRF tokens nobody can keep across a restart or share between two console processes.
"""

import os

from django.core.asgi import get_asgi_application
from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "township.console.settings")
application = get_asgi_application()

from django.conf import settings  # noqa: E402  (after the application: settings are configured)

try:
    settings.SECRET_KEY  # noqa: B018  (Django refuses an empty key when it is read)
except ImproperlyConfigured:
    raise ImproperlyConfigured("TOWNSHIP_SECRET_KEY is not set: give the console a key (a value or a file "
                               "path)") from None
