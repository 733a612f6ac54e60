from django.core.management.base import BaseCommand

from portal.accounts.services import roles_sync


class Command(BaseCommand):
    help = "Create the role groups (Viewer, Engineer, Approver, Platform admin) with their permissions."

    def handle(self, *args, **options):
        groups = roles_sync()
        self.stdout.write("Roles: " + ", ".join(groups))
