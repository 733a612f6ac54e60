from django.core.management.base import BaseCommand

from portal.catalog.demo import DEMO_PASSWORD, DEMO_USERS, demo_load


class Command(BaseCommand):
    help = "Load the Holiday Peak Hub demo platform and demo users. Loading twice changes nothing."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEMO_PASSWORD, help="Password for newly created demo users.")

    def handle(self, *args, password, **options):
        created = demo_load(password=password)
        summary = ", ".join(f"{n} {what}" for what, n in created.items())
        self.stdout.write(f"Demo data: created {summary}.")
        if created["users"]:
            self.stdout.write("Demo users: " + ", ".join(f"{u} ({r})" for u, r, *_ in DEMO_USERS))
