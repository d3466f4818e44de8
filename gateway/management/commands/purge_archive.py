from django.conf import settings
from django.core.management.base import BaseCommand

from gateway.archive import purge


class Command(BaseCommand):
    help = "Delete archived packets older than ARCHIVE_RETENTION_DAYS (or --days)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=float, default=None)

    def handle(self, *args, days=None, **options):
        days = settings.ARCHIVE_RETENTION_DAYS if days is None else days
        self.stdout.write(f"purged {purge(days)} packets older than {days:g} days")
