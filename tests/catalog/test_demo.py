from django.contrib.auth import get_user_model
from django.core.management import call_command

from portal.audit.models import AuditEvent
from portal.catalog.choices import PlacementStatus
from portal.catalog.models import Agent, Environment, NodePool, Placement, Team
from portal.catalog.naming import blob_container_errors


def snapshot():
    return {
        "environments": list(Environment.objects.values().order_by("pk")),
        "pools": list(NodePool.objects.values().order_by("pk")),
        "teams": list(Team.objects.values().order_by("pk")),
        "agents": list(Agent.objects.values().order_by("pk")),
        "placements": list(Placement.objects.order_by("pk").values(
            "pk", "agent_id", "environment_id", "redis_db", "cosmos_container", "blob_container", "status")),
        "users": list(get_user_model().objects.values("pk", "username", "password").order_by("pk")),
        "audit": AuditEvent.objects.count(),
    }


def test_demo_loads_the_platform_of_the_design_document(demo):
    assert list(Environment.objects.values_list("name", flat=True)) == ["dev", "staging", "prod"]
    assert Agent.objects.count() == 21
    dev = Environment.objects.get(name="dev")
    pools = {p.name: p for p in dev.node_pools.all()}
    assert (pools["system"].min_nodes, pools["system"].max_nodes) == (1, 5)
    assert (pools["agents"].min_nodes, pools["agents"].max_nodes, pools["agents"].taints) == (
        2, 20, ["workload=agents:NoSchedule"])
    assert pools["crud"].taints == ["workload=crud:NoSchedule"]
    assert len(dev.cosmos_containers) == 10 and len(dev.event_hub_topics) == 5
    assert Environment.objects.get(name="prod").approvals_required >= 1


def test_demo_shows_that_22_databases_do_not_fit_on_a_p1(demo):
    dev = Environment.objects.get(name="dev")
    placements = Placement.objects.filter(environment=dev)
    assert placements.count() == 21
    assert sorted(placements.exclude(redis_db=None).values_list("redis_db", flat=True)) == list(range(1, 16))
    blocked = placements.filter(status=PlacementStatus.BLOCKED)
    assert blocked.count() == 6
    assert all(p.redis_db is None and "No free Redis database" in p.status_detail for p in blocked)


def test_demo_blob_container_names_all_comply(demo):
    assert all(blob_container_errors(name) == [] for name in Placement.objects.values_list("blob_container", flat=True))


def test_loading_the_demo_twice_changes_nothing(db):
    call_command("load_demo", stdout=open("/dev/null", "w"))
    first = snapshot()
    call_command("load_demo", stdout=open("/dev/null", "w"))
    assert snapshot() == first


def test_demo_users_have_one_role_each(demo):
    users = {u.username: [g.name for g in u.groups.all()] for u in get_user_model().objects.all()}
    assert users["viewer"] == ["Viewer"]
    assert users["engineer"] == ["Engineer"]
    assert users["approver"] == ["Approver"]
    assert users["admin"] == ["Platform admin"]
