import pytest

from portal.catalog.naming import (
    blob_container_errors,
    cold_container_name,
    cosmos_container_errors,
    dns1123_label_errors,
    suggest_blob_container_name,
)
from portal.catalog.demo import demo_agents


def test_the_design_documents_cold_container_of_normalization_classification_is_too_long():
    name = cold_container_name("product-management-normalization-classification")
    assert len(name) == 64
    assert blob_container_errors(name) == ["is 64 characters; blob container names are 3 to 63"]


def test_suggested_blob_names_comply_for_all_21_agents_and_are_distinct():
    names = [suggest_blob_container_name(row["slug"]) for row in demo_agents()]
    assert all(blob_container_errors(n) == [] for n in names)
    assert len(set(names)) == 21
    # Only the one that does not fit is changed.
    changed = [row["slug"] for row in demo_agents() if suggest_blob_container_name(row["slug"]) != cold_container_name(row["slug"])]
    assert changed == ["product-management-normalization-classification"]


@pytest.mark.parametrize("name,message", [
    ("ab", "is 2 characters"),
    ("Cold-agent", "only lowercase letters"),
    ("-cold", "must start with a letter or digit"),
    ("cold-", "must not end with a hyphen"),
    ("cold--agent", "two hyphens in a row"),
    ("cold_agent", "only lowercase letters"),
])
def test_blob_container_rules(name, message):
    assert any(message in e for e in blob_container_errors(name))


def test_cosmos_container_rules():
    assert cosmos_container_errors("warm-agent-chat-memory") == []
    assert cosmos_container_errors("a/b")[0].startswith("must not contain '/'")
    assert "255" in cosmos_container_errors("x" * 256)[0]


def test_kubernetes_name_rules():
    assert dns1123_label_errors("ecommerce-catalog-search") == []
    assert dns1123_label_errors("Catalog")
    assert dns1123_label_errors("x" * 64)
