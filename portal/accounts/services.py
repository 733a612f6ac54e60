from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from portal.accounts.roles import ROLE_PERMISSIONS


class UnknownPermission(Exception):
    pass


@transaction.atomic
def roles_sync() -> dict[str, Group]:
    """Create the role groups and give each exactly its permissions. Safe to run any number of times."""
    groups = {}
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for perm in sorted(set(perms)):
            app_label, codename = perm.split(".")
            try:
                wanted.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
            except Permission.DoesNotExist as exc:
                raise UnknownPermission(f"Role {role!r} names unknown permission {perm!r}") from exc
        group.permissions.set(wanted)
        groups[role] = group
    return groups


@transaction.atomic
def user_create_with_role(*, username: str, password: str, role: str | None, email: str = "",
                          first_name: str = "", last_name: str = "", is_superuser: bool = False,
                          password_hash: str | None = None):
    """Create a user (or update an existing one's role and password) in one role group.

    `password_hash` (from `make_password(password)`) lets a caller creating many users with one password
    hash it once: each hash costs ~0.7 s of PBKDF2 here, 3.7 s of the first `make run` for the 5 demo users.
    """
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=username)
    user.email = email
    user.first_name = first_name
    user.last_name = last_name
    user.is_staff = is_superuser
    user.is_superuser = is_superuser
    if password_hash:
        user.password = password_hash
    else:
        user.set_password(password)
    user.save()
    if role:
        user.groups.set([Group.objects.get(name=role)])
    return user
