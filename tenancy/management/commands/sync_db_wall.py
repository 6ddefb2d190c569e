from django.core.management.base import BaseCommand

from tenancy.rls import sync_database_wall


class Command(BaseCommand):
    help = "Apply row-level security, grants and append-only triggers (runs after every migrate)."

    def handle(self, *args, **options):
        tables = sync_database_wall()
        self.stdout.write(f"row-level security on {len(tables)} tenant tables")
