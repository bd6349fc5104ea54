"""Development: runserver with the autoreloader, sources mounted."""
from .base import *  # noqa: F401,F403

DEBUG = True
