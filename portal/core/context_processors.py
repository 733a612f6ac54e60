from django.conf import settings

from portal.accounts.selectors import user_role_names


def portal(request):
    return {
        "portal_cloud": settings.PORTAL_CLOUD,
        "portal_mode": settings.PORTAL_MODE,
        "user_roles": user_role_names(request.user) if hasattr(request, "user") else [],
    }
