"""Azure's rules, in one place: resource names per resource type, Redis databases per SKU, and a
Redis database allocation. Onboarding, New deployment and the sandbox cloud all ask this module, so
what Azure refuses is refused on every path, with the error code and message Azure answers with.

Nothing here imports Django: the sandbox backend (provisioning/backends/sandbox.py) uses it too.

Sources: learn.microsoft.com, "Naming rules and restrictions for Azure resources"; Azure Cache for
Redis, "Configure", section Databases; Kubernetes, "Object names and IDs".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# --- Redis ------------------------------------------------------------------------------------

# Databases per cache, fixed at creation. A clustered Premium cache has database 0 only.
REDIS_DATABASES = {
    "C0": 16, "C1": 16, "C2": 16, "C3": 16, "C4": 32, "C5": 48, "C6": 64,
    "P1": 16, "P2": 32, "P3": 48, "P4": 64, "P5": 64,
}


def redis_database_limit(sku: str, *, clustered: bool = False) -> int:
    return 1 if clustered else REDIS_DATABASES[sku]


def redis_database_problem(database: int, *, sku: str, clustered: bool = False, reserved: int = 0,
                           taken_by: str = "") -> str | None:
    """Why this database cannot be an agent's own on this cache, or None. `taken_by` names the agent
    that already has it (the caller reads its catalog)."""
    limit = redis_database_limit(sku, clustered=clustered)
    if not 0 <= database < limit:
        cache = f"a clustered {sku} cache has database 0 only" if clustered else f"a {sku} cache has databases 0 to {limit - 1}"
        return f"Redis database {database} does not exist: {cache}."
    if database < reserved:
        return f"Redis database {database} is kept for the platform (databases 0 to {reserved - 1})."
    if taken_by:
        return f"Redis database {database} is already allocated to {taken_by}."
    return None


# --- Names ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NameViolation:
    """What Azure answers when a resource's name breaks its rules."""

    resource_type: str
    name: str
    code: str          # Azure's error code, e.g. AccountNameInvalid
    message: str       # Azure's message for it
    problems: tuple[str, ...]  # each rule broken, in words that say what to change

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True)
class _Rule:
    label: str
    code: str
    message: str  # Azure's text; {name} is the name
    low: int
    high: int
    checks: tuple  # (regex that must match the whole name, problem when it does not)


_ALNUM_HYPHEN = (r"[A-Za-z0-9-]*", "may contain only letters, digits and hyphens")
_LOWER_ALNUM = (r"[a-z0-9]*", "may contain only lowercase letters and digits")
_LOWER_ALNUM_HYPHEN = (r"[a-z0-9-]*", "may contain only lowercase letters, digits and hyphens")
_START_ALNUM = (r"[A-Za-z0-9].*", "must start with a letter or digit")
_END_ALNUM = (r".*[A-Za-z0-9]", "must end with a letter or digit")
_NO_DOUBLE_HYPHEN = (r"(?!.*--).*", "must not contain two hyphens in a row")

def _cosmos_forbidden(name: str) -> str | None:
    bad = sorted(set("/\\#?").intersection(name))
    return "must not contain " + " ".join(repr(c) for c in bad) if bad else None


_RULES: dict[str, _Rule] = {
    "microsoft.resources/resourcegroups": _Rule(
        "resource group", "InvalidResourceGroup",
        "The provided resource group name '{name}' is invalid. The name can be up to 90 characters: letters, digits, "
        "underscores, hyphens, periods and parentheses, and cannot end in a period.",
        1, 90, ((r"[\w\-.()]*", "may contain only letters, digits, underscores, hyphens, periods and parentheses"),
                (r".*[^.]", "must not end with a period"))),
    "microsoft.storage/storageaccounts": _Rule(
        "storage account", "AccountNameInvalid",
        "{name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in "
        "length and use numbers and lower-case letters only.",
        3, 24, (_LOWER_ALNUM,)),
    "microsoft.storage/storageaccounts/blobservices/containers": _Rule(
        "blob container", "ContainerNameInvalid",
        "The specified container name '{name}' is not valid. Container names are 3 to 63 characters: lowercase "
        "letters, digits and single hyphens, starting and ending with a letter or digit.",
        3, 63, (_LOWER_ALNUM_HYPHEN, _START_ALNUM, (r".*[^-]", "must not end with a hyphen"), _NO_DOUBLE_HYPHEN)),
    "microsoft.documentdb/databaseaccounts": _Rule(
        "Cosmos DB account", "InvalidResourceName",
        "Database account name '{name}' is invalid: 3 to 44 characters, lowercase letters, digits and hyphens, "
        "starting and ending with a letter or digit.",
        3, 44, (_LOWER_ALNUM_HYPHEN, _START_ALNUM, _END_ALNUM)),
    "microsoft.documentdb/databaseaccounts/sqldatabases/containers": _Rule(
        "Cosmos DB container", "BadRequest",
        "Container id '{name}' is invalid: 1 to 255 characters, none of / \\ # ?, and no space at its end.",
        1, 255, (_cosmos_forbidden, (r"(?:\S.*\S|\S)?", "must not start or end with a space"))),
    "microsoft.keyvault/vaults": _Rule(
        "key vault", "VaultNameNotValid",
        "The vault name '{name}' is invalid. A vault's name must be between 3-24 alphanumeric characters. The name "
        "must begin with a letter, end with a letter or digit, and not contain consecutive hyphens.",
        3, 24, (_ALNUM_HYPHEN, (r"[A-Za-z].*", "must start with a letter"), _END_ALNUM, _NO_DOUBLE_HYPHEN)),
    "microsoft.search/searchservices": _Rule(
        "AI Search service", "InvalidName",
        "Service name '{name}' is invalid: 2 to 60 characters, lowercase letters, digits and single hyphens, not "
        "starting or ending with a hyphen.",
        2, 60, (_LOWER_ALNUM_HYPHEN, _START_ALNUM, _END_ALNUM, _NO_DOUBLE_HYPHEN)),
    "microsoft.cognitiveservices/accounts": _Rule(
        "Azure OpenAI account", "InvalidResourceName",
        "Resource name '{name}' is invalid: 2 to 64 characters, letters, digits and hyphens, starting and ending "
        "with a letter or digit.",
        2, 64, (_ALNUM_HYPHEN, _START_ALNUM, _END_ALNUM)),
    "microsoft.web/staticsites": _Rule(
        "Static Web App", "InvalidResourceName",
        "Resource name '{name}' is invalid: 2 to 60 characters, letters, digits and hyphens.",
        2, 60, (_ALNUM_HYPHEN, _START_ALNUM, _END_ALNUM)),
    "microsoft.web/staticsites/customdomains": _Rule(
        "custom domain", "InvalidDomainName",
        "The domain name '{name}' is not valid. A host name is labels of letters, digits and hyphens separated by "
        "periods, each label 1 to 63 characters and not starting or ending with a hyphen.",
        1, 253, ((r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))+",
                  "must be a host name such as shop.holidaypeakhub.com: letters, digits and hyphens in labels "
                  "separated by periods"),)),
    "microsoft.containerservice/managedclusters": _Rule(
        "AKS cluster", "InvalidResourceName",
        "Resource name '{name}' is invalid: 1 to 63 characters, letters, digits, underscores and hyphens, starting "
        "and ending with a letter or digit.",
        1, 63, ((r"[\w-]*", "may contain only letters, digits, underscores and hyphens"), _START_ALNUM, _END_ALNUM)),
    "microsoft.containerregistry/registries": _Rule(
        "container registry", "InvalidResourceName",
        "Registry name '{name}' is invalid: 5 to 50 letters and digits.",
        5, 50, ((r"[A-Za-z0-9]*", "may contain only letters and digits"),)),
    "microsoft.cache/redis": _Rule(
        "Redis cache", "InvalidResourceName",
        "Cache name '{name}' is invalid: 1 to 63 characters, letters, digits and single hyphens, starting and "
        "ending with a letter or digit.",
        1, 63, (_ALNUM_HYPHEN, _START_ALNUM, _END_ALNUM, _NO_DOUBLE_HYPHEN)),
}
# Kubernetes names an agent's workload (Deployment, Service): a DNS-1123 label.
KUBERNETES_NAME = "kubernetes/name"
_RULES[KUBERNETES_NAME] = _Rule(
    "Kubernetes name", "Invalid",
    "metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 label must consist of lower case alphanumeric "
    "characters or '-', and must start and end with an alphanumeric character",
    1, 63, ((r"[a-z0-9]([-a-z0-9]*[a-z0-9])?",
             "must be lowercase letters, digits and hyphens, starting and ending with a letter or digit"),))


def rule_types() -> frozenset[str]:
    """The resource types (lowercase) whose names this module knows the rules of."""
    return frozenset(_RULES)


def _own_name(resource_type: str, name: str) -> str:
    """A child resource's own name: the last segment of its full ARM name ("acct/default/cold-x")."""
    if resource_type.count("/") > 1 and "/" in name:
        return name.rsplit("/", 1)[-1]
    return name


def name_problems(resource_type: str, name: str, *, own: bool = False) -> list[str]:
    """Each of Azure's rules this name breaks, in words that say what to change ([] when it is fine or
    the type's rules are not known here). A child's name may be its full ARM name ("acct/default/x")
    unless `own` says it is the resource's own name already (as a form field holds it)."""
    rule = _RULES.get(resource_type.lower())
    if rule is None:
        return []
    name = name if own else _own_name(resource_type, name)
    problems = []
    if not rule.low <= len(name) <= rule.high:
        problems.append(f"is {len(name)} characters; {rule.label} names are {rule.low} to {rule.high}")
    for check in rule.checks:
        if callable(check):
            problem = check(name)
            if problem:
                problems.append(problem)
            continue
        pattern, problem = check
        if name and not re.fullmatch(pattern, name, flags=re.DOTALL):
            problems.append(problem)
    return problems


def name_violation(resource_type: str, name: str, *, own: bool = False) -> NameViolation | None:
    """Azure's refusal of this name (its code and message), or None when Azure would accept it."""
    problems = name_problems(resource_type, name, own=own)
    if not problems:
        return None
    rule = _RULES[resource_type.lower()]
    own_name = name if own else _own_name(resource_type, name)
    return NameViolation(resource_type, own_name, rule.code, rule.message.format(name=own_name), tuple(problems))


def name_violations(resources: Iterable[tuple[str, str]]) -> list[NameViolation]:
    """Azure's refusals for (type, name) pairs, in order."""
    return [v for v in (name_violation(t, n) for t, n in resources) if v is not None]


# --- Rule sets the portal's own forms use (the same rules, by what they name) -------------------

BLOB_CONTAINER = "Microsoft.Storage/storageAccounts/blobServices/containers"
COSMOS_CONTAINER = "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers"
RESOURCE_GROUP = "Microsoft.Resources/resourceGroups"
