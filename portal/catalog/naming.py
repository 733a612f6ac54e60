"""Azure and Kubernetes naming rules for an agent's memory resources, with compliant suggestions."""

import hashlib
import re

BLOB_CONTAINER_RE = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")
DNS1123_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
COSMOS_FORBIDDEN = set("/\\#?")


def warm_container_name(slug: str) -> str:
    return f"warm-{slug}-chat-memory"


def cold_container_name(slug: str) -> str:
    return f"cold-{slug}-chat-memory"


def blob_container_errors(name: str) -> list[str]:
    errors = []
    if not 3 <= len(name) <= 63:
        errors.append(f"is {len(name)} characters; blob container names are 3 to 63")
    if name != name.lower() or not re.fullmatch(r"[a-z0-9-]*", name.lower()):
        errors.append("may contain only lowercase letters, digits and hyphens")
    if name and not name[0].isalnum():
        errors.append("must start with a letter or digit")
    if name and name[-1] == "-":
        errors.append("must not end with a hyphen")
    if "--" in name:
        errors.append("must not contain two hyphens in a row")
    return errors


def cosmos_container_errors(name: str) -> list[str]:
    errors = []
    if not 1 <= len(name) <= 255:
        errors.append(f"is {len(name)} characters; Cosmos DB container names are 1 to 255")
    bad = sorted(COSMOS_FORBIDDEN.intersection(name))
    if bad:
        errors.append("must not contain " + " ".join(repr(c) for c in bad))
    if name != name.strip():
        errors.append("must not start or end with a space")
    return errors


def dns1123_label_errors(name: str) -> list[str]:
    errors = []
    if not 1 <= len(name) <= 63:
        errors.append(f"is {len(name)} characters; Kubernetes names are 1 to 63")
    if not DNS1123_LABEL_RE.fullmatch(name):
        errors.append("must be lowercase letters, digits and hyphens, starting and ending with a letter or digit")
    return errors


def suggest_blob_container_name(slug: str) -> str:
    """`cold-{slug}-chat-memory` if it fits, else a compliant name of at most 63 characters.

    The slug is shortened and a short hash of the full slug keeps two long slugs from colliding.
    """
    name = cold_container_name(slug)
    if not blob_container_errors(name):
        return name
    digest = hashlib.sha256(slug.encode()).hexdigest()[:6]
    prefix, suffix = "cold-", f"-{digest}-chat-memory"
    room = 63 - len(prefix) - len(suffix)
    cleaned = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", slug.lower())).strip("-")
    return f"{prefix}{cleaned[:room].rstrip('-')}{suffix}"
