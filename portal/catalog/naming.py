"""Names of an agent's memory resources, with compliant suggestions. The rules themselves are Azure's and
Kubernetes', kept in one module (provisioning.azure_rules) that New deployment and the sandbox use too."""

import hashlib
import re

from provisioning.azure_rules import BLOB_CONTAINER, COSMOS_CONTAINER, KUBERNETES_NAME, name_problems


def warm_container_name(slug: str) -> str:
    return f"warm-{slug}-chat-memory"


def cold_container_name(slug: str) -> str:
    return f"cold-{slug}-chat-memory"


def blob_container_errors(name: str) -> list[str]:
    return name_problems(BLOB_CONTAINER, name, own=True)


def cosmos_container_errors(name: str) -> list[str]:
    return name_problems(COSMOS_CONTAINER, name, own=True)


def dns1123_label_errors(name: str) -> list[str]:
    return name_problems(KUBERNETES_NAME, name)


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
