"""Creates the superuser once, non-interactively: the name from DJANGO_SUPERUSER_USERNAME, the
password from the file named by DJANGO_SUPERUSER_PASSWORD_FILE (a Docker secret), never from a
variable or a command line. Does nothing when the user exists."""
import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options):
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin")
        path = os.environ.get("DJANGO_SUPERUSER_PASSWORD_FILE")
        if not path:
            raise CommandError("DJANGO_SUPERUSER_PASSWORD_FILE is not set")
        with open(path, encoding="utf-8") as f:
            password = f.read().removesuffix("\n")
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"superuser {username} exists")
            return
        User.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(f"superuser {username} created")
