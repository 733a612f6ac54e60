from portal.accounts.roles import ROLES


def user_role_names(user) -> list[str]:
    if not user.is_authenticated:
        return []
    names = {g.name for g in user.groups.all()}
    return [role for role in ROLES if role in names]
