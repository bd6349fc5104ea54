"""Production: gunicorn behind nginx."""
from .base import *  # noqa: F401,F403

DEBUG = False
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
