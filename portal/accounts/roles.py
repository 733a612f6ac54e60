"""The four roles, as Django groups with permissions.

Roles are cumulative on the read side: everybody signed in with a role can read the catalog and the
audit log; Engineers register agents and request deployments; Approvers decide on approvals;
Platform admins manage environments and policies (and can do everything the others can).
"""

VIEWER = "Viewer"
ENGINEER = "Engineer"
APPROVER = "Approver"
PLATFORM_ADMIN = "Platform admin"
ROLES = (VIEWER, ENGINEER, APPROVER, PLATFORM_ADMIN)

READ = [
    "catalog.view_environment",
    "catalog.view_nodepool",
    "catalog.view_team",
    "catalog.view_agent",
    "catalog.view_placement",
    "catalog.view_environmentsync",
    "audit.view_auditevent",
    "deployments.view_deployment",
    "deployments.view_approvalrequest",
    "costs.view_costentry",
    "costs.view_costforecast",
    "costs.view_costingestrun",
    "costs.view_budgetalert",
    "costs.view_budgetpolicy",
    "health.view_healthcheck",
    "health.view_healthresult",
    "access.view_rbacaudit",
    "access.view_rbacfinding",
    "sources.view_templatesource",   # #12
]
ENGINEER_PERMS = [
    "catalog.add_agent",
    "catalog.change_agent",
    "catalog.add_environmentsync",
    "deployments.add_deployment",
    "deployments.change_deployment",
    "costs.add_costingestrun",
    "access.add_rbacaudit",
    "access.remediate_rbacfinding",
]
APPROVER_PERMS = ["deployments.decide_approvalrequest"]
ADMIN_PERMS = [
    "catalog.add_environment",
    "catalog.change_environment",
    "catalog.change_nodepool",
    "catalog.add_team",
    "catalog.change_team",
    "catalog.add_environmentsync",
    "costs.change_budgetpolicy",
    "sources.add_templatesource",     # #12: git template sources, Sync now
    "sources.change_templatesource",
]

ROLE_PERMISSIONS = {
    VIEWER: READ,
    ENGINEER: READ + ENGINEER_PERMS,
    APPROVER: READ + APPROVER_PERMS,
    PLATFORM_ADMIN: READ + ENGINEER_PERMS + APPROVER_PERMS + ADMIN_PERMS,
}
