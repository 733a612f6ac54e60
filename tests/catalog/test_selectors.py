"""The catalog's list selectors at issue #11's scale: rows as the pages show them, from a fixed number of queries."""

import pytest
from django.urls import reverse

from portal.catalog import selectors
from portal.catalog.choices import PlacementStatus
from portal.catalog.models import Agent
from tests.factories import AgentFactory, EnvironmentFactory, PlacementFactory, TeamFactory


@pytest.fixture
def envs(db):
    return [EnvironmentFactory(name=name, position=i) for i, name in enumerate(["dev", "staging", "prod"])]


def test_agent_domains_lists_each_domain_once_in_order_as_select_distinct_does(db):
    for domain in ["logistics", "crm", "ecommerce", "crm", "logistics", "a-first", "crm"]:
        AgentFactory(domain=domain)

    assert selectors.agent_domains() == ["a-first", "crm", "ecommerce", "logistics"]
    assert selectors.agent_domains() == list(Agent.objects.order_by("domain").values_list("domain", flat=True)
                                             .distinct())


def test_agent_domains_of_no_agents_is_empty(db):
    assert selectors.agent_domains() == []


def test_agent_table_filters_by_team_and_environment_ids_like_the_api_s_agent_list_by_names(envs):
    dev, staging, _ = envs
    crm, other = TeamFactory(slug="crm"), TeamFactory(slug="other")
    in_dev = AgentFactory(slug="a-dev", owner_team=crm)
    in_both = AgentFactory(slug="b-both", owner_team=crm)
    AgentFactory(slug="c-nowhere", owner_team=crm)
    other_dev = AgentFactory(slug="d-other", owner_team=other)
    for agent, env in [(in_dev, dev), (in_both, dev), (in_both, staging), (other_dev, dev)]:
        PlacementFactory(agent=agent, environment=env)
    choices = selectors.agent_filter_choices()

    for filters in [{}, {"team": "crm"}, {"environment": "dev"}, {"team": "crm", "environment": "dev"},
                    {"environment": "staging", "q": "both"}]:
        table = [row["slug"] for row in selectors.agent_table(choices=choices, **filters)]
        assert table == [agent.slug for agent in selectors.agent_list(**filters)], filters
    assert [row["slug"] for row in selectors.agent_table(choices=choices, team="crm", environment="dev")] == \
        ["a-dev", "b-both"]


def test_agent_table_s_hand_written_sql_matches_what_the_orm_s_filters_match_and_pages_as_its_slices(envs):
    """#11: agent_table's statement is written by hand; each filter, a search with LIKE's own characters and
    names not in the choices included, matches what _agents_matching's queryset matches, page by page."""
    dev, staging, _ = envs
    crm, other = TeamFactory(slug="crm"), TeamFactory(slug="other")
    agents = [AgentFactory(slug="a-dev", display_name="100% Sales_Bot", owner_team=crm, domain="crm"),
              AgentFactory(slug="b-both", display_name="Back\\slash", owner_team=crm, domain="crm",
                           description="Finds <orders> & 'returns'"),
              AgentFactory(slug="c-nowhere", display_name="Plain", owner_team=other, domain="ecommerce",
                           memory_tiers=["hot", "cold"])]
    PlacementFactory(agent=agents[0], environment=dev)
    PlacementFactory(agent=agents[1], environment=staging)
    choices = selectors.agent_filter_choices()
    columns = ("pk", "slug", "display_name", "domain", "memory_tiers", "owner_team")

    for filters in [{}, {"q": "SALES"}, {"q": "%"}, {"q": "_"}, {"q": "\\"}, {"q": "<ORDERS> &"}, {"q": "x"},
                    {"domain": "crm"}, {"team": "other"}, {"team": "gone"}, {"environment": "gone"},
                    {"domain": "crm", "environment": "staging", "q": "back"}]:
        table = selectors.agent_table(choices=choices, **filters)
        orm = selectors._agents_matching(**filters).values(*columns)
        assert table.count() == orm.count(), filters
        assert list(table) == list(orm), filters
        assert table[1:3] == list(orm[1:3]) and table[0:1] == list(orm[0:1]), filters


def test_agent_rows_gives_each_agent_its_url_team_memory_and_a_cell_per_environment_in_one_query(
        envs, django_assert_num_queries):
    dev, staging, prod = envs
    agent = AgentFactory(slug="crm-notes", owner_team=TeamFactory(slug="crm", name="CRM team"),
                         memory_tiers=["hot", "warm"])
    PlacementFactory(agent=agent, environment=prod, status=PlacementStatus.BLOCKED)
    PlacementFactory(agent=agent, environment=dev, status=PlacementStatus.RUNNING)
    nowhere = AgentFactory(slug="nowhere", memory_tiers=[])
    choices = selectors.agent_filter_choices()
    table = list(selectors.agent_table(choices=choices))
    teams = {pk: name for pk, _, name in choices["teams"]}

    with django_assert_num_queries(1):
        rows = selectors.agent_rows(agents=table, environments=[dev.pk, staging.pk, prod.pk], teams=teams)

    first, second = rows
    assert (first["slug"], first["url"], first["team"], first["memory"]) == \
        ("crm-notes", agent.get_absolute_url(), "CRM team", "hot, warm")
    assert first["cells"] == [selectors.PlacementCell("running", "Running"), None,
                              selectors.PlacementCell("blocked", "Blocked")]
    assert (second["url"], second["memory"], second["cells"]) == (nowhere.get_absolute_url(), "", [None] * 3)


def test_placement_list_counts_without_joins_and_placement_rows_add_url_and_status_label(
        envs, django_assert_num_queries):
    dev, staging, _ = envs
    team = TeamFactory(slug="t", name="The team")
    for slug, status in [("b-agent", PlacementStatus.FAILED), ("a-agent", PlacementStatus.RUNNING)]:
        PlacementFactory(agent=AgentFactory(slug=slug, owner_team=team), environment=dev, status=status,
                         status_detail="quota" if status == PlacementStatus.FAILED else "")
    PlacementFactory(environment=staging)                                       # another environment's

    with django_assert_num_queries(1):                                          # the count
        placements = selectors.placement_list(environment=dev)
    assert placements.count() == len(placements) == 2
    with django_assert_num_queries(1):
        rows = selectors.placement_rows(placements=placements[0:50])

    assert [(r["slug"], r["team"], r["status"], r["status_label"], r["status_detail"]) for r in rows] == [
        ("a-agent", "The team", "running", "Running", ""), ("b-agent", "The team", "failed", "Failed", "quota")]
    assert rows[0]["url"] == reverse("catalog:agent_detail", args=["a-agent"])


def test_an_environment_s_long_placement_count_is_kept_a_short_one_counted_every_view(
        envs, monkeypatch, django_assert_num_queries):
    """#11: as page_of keeps a long list's total (pagination.EXACT_COUNT, LONG_COUNT_SECONDS), by environment."""
    from django.core.cache import cache

    from portal.core import pagination

    dev, staging, _ = envs
    monkeypatch.setattr(pagination, "EXACT_COUNT", 2)
    cache.clear()
    for _ in range(2):
        PlacementFactory(environment=dev)
    PlacementFactory(environment=staging)
    with django_assert_num_queries(1):
        assert selectors.placement_count(environment=dev) == 2                  # short: counted, not kept
    PlacementFactory(environment=dev)
    with django_assert_num_queries(1):
        assert selectors.placement_count(environment=dev) == 3                  # long now: counted, then kept
    PlacementFactory(environment=dev)
    with django_assert_num_queries(0):
        assert selectors.placement_count(environment=dev) == 3                  # as of a few seconds ago
    with django_assert_num_queries(1):
        assert selectors.placement_count(environment=staging) == 1              # another environment's own
    cache.clear()                                                               # LONG_COUNT_SECONDS later
    assert selectors.placement_count(environment=dev) == 4


def test_the_environment_page_lists_its_node_pools_by_name_with_their_taints(envs, client_for, viewer):
    from tests.factories import NodePoolFactory

    dev, staging, _ = envs
    NodePoolFactory(environment=dev, name="user", mode="User", vm_size="Standard_D8s_v5", min_nodes=2, max_nodes=9,
                    taints=["workload=agents:NoSchedule", "<b>"])
    NodePoolFactory(environment=dev, name="system", mode="System", taints=[])
    NodePoolFactory(environment=staging, name="other")

    assert [pool["name"] for pool in selectors.environment_page(name="dev")[2]] == ["system", "user"]
    html = client_for(viewer).get(reverse("catalog:environment_detail", args=["dev"])).content.decode()
    assert ('<tr><th scope="row">system</th><td>System</td><td>Standard_D4s_v5</td><td class="num">1</td>'
            '<td class="num">5</td>\n        <td><span class="muted">none</span></td></tr>') in html
    assert ('<tr><th scope="row">user</th><td>User</td><td>Standard_D8s_v5</td><td class="num">2</td>'
            '<td class="num">9</td>\n        <td><code>workload=agents:NoSchedule</code> <code>&lt;b&gt;</code> </td></tr>'
            ) in html
    assert "other" not in html


def test_agent_filter_choices_list_teams_by_name_and_environments_in_page_order(db, django_assert_num_queries):
    for position, name in [(2, "prod"), (0, "dev"), (1, "staging"), (1, "qa")]:
        EnvironmentFactory(name=name, position=position)
    teams = [TeamFactory(slug=slug, name=name) for slug, name in [("z", "Alpha team"), ("a", "Zulu team"),
                                                                      ("m", "Mike & <co>")]]
    AgentFactory(domain="crm", owner_team=teams[0])

    with django_assert_num_queries(1):
        choices = selectors.agent_filter_choices()

    from portal.catalog.models import Environment, Team
    assert choices["teams"] == list(Team.objects.order_by("name").values_list("pk", "slug", "name"))
    assert [name for _, _, name in choices["teams"]] == ["Alpha team", "Mike & <co>", "Zulu team"]
    assert choices["environments"] == list(Environment.objects.order_by("position", "name").values_list("pk", "name"))
    assert [name for _, name in choices["environments"]] == ["dev", "qa", "staging", "prod"]
    assert choices["domains"] == ["crm"] == selectors.agent_domains()


def test_agent_rows_of_no_agents_reads_nothing(envs, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert selectors.agent_rows(agents=[], environments=[env.pk for env in envs], teams={}) == []


def test_agent_rows_show_a_status_without_a_label_as_itself(envs):
    dev = envs[0]
    agent = AgentFactory(slug="odd")
    PlacementFactory(agent=agent, environment=dev, status="mystery")
    rows = selectors.agent_rows(agents=list(selectors.agent_table(choices=selectors.agent_filter_choices())),
                                environments=[env.pk for env in envs], teams={agent.owner_team_id: "T"})
    assert rows[0]["cells"] == [selectors.PlacementCell("mystery", "mystery"), None, None]


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_environment_for_page_and_its_latest_sync_are_the_instances_the_orm_gives(envs, django_assert_num_queries):
    """#11: both are read by statements written once; every field (JSON, decimal, dates) is what the ORM gives,
    the approver group too, and an unknown name raises DoesNotExist."""
    from datetime import timedelta

    from django.contrib.auth.models import Group
    from django.utils import timezone

    from portal.catalog.models import Environment, EnvironmentSync

    dev, staging, _ = envs
    group = Group.objects.create(name="Approvers <& 'co'>")
    Environment.objects.filter(pk=dev.pk).update(approver_group=group, monthly_budget="1234.50",
                                                 cosmos_containers=["a", "b"], resource_groups=["rg-x"])
    older = EnvironmentSync.objects.create(environment=dev, status="succeeded", result={"placements": 3})
    latest = EnvironmentSync.objects.create(environment=dev, status="failed", error="boom")
    EnvironmentSync.objects.filter(pk=older.pk).update(requested_at=timezone.now() - timedelta(hours=1),
                                                       finished_at=timezone.now())

    for name in ["dev", "staging"]:
        with django_assert_num_queries(1):
            environment = selectors.environment_for_page(name=name)
        expected = Environment.objects.select_related("approver_group").get(name=name)
        assert _fields(environment) == _fields(expected)
        assert environment.approver_group == expected.approver_group
    dev_page = selectors.environment_for_page(name="dev")
    with django_assert_num_queries(0):
        assert dev_page.approver_group.name == "Approvers <& 'co'>"
    with pytest.raises(Environment.DoesNotExist):
        selectors.environment_for_page(name="nowhere")

    with django_assert_num_queries(1):
        sync = selectors.environment_latest_sync(environment=dev_page)
    assert sync.pk == latest.pk and _fields(sync) == _fields(EnvironmentSync.objects.filter(environment=dev).first())
    assert selectors.environment_latest_sync(environment=staging) is None

    for name, expected_sync in [("dev", sync), ("staging", None)]:                # the page's: both in one query
        with django_assert_num_queries(1):
            environment, page_sync, _ = selectors.environment_page(name=name)
        assert _fields(environment) == _fields(selectors.environment_for_page(name=name))
        assert (page_sync and _fields(page_sync)) == (expected_sync and _fields(expected_sync))


def test_an_agent_tables_page_reads_its_placements_with_it_and_agent_rows_gives_what_its_own_query_gave(
        envs, django_assert_num_queries):
    """#11: a page of agent_table reads its agents' placements in the same statement (kept in `placed`); agent_rows
    then makes the same rows as with its own query, agents without placements included, on any page."""
    dev, staging, prod = envs
    for i in range(7):
        agent = AgentFactory(slug=f"a-{i}", memory_tiers=["hot"] if i % 2 else [])
        for env, status in [(dev, PlacementStatus.RUNNING), (staging, PlacementStatus.BLOCKED),
                            (prod, "mystery")][:i % 4]:
            PlacementFactory(agent=agent, environment=env, status=status)
    choices = selectors.agent_filter_choices()
    teams = {pk: name for pk, _, name in choices["teams"]}
    columns = [dev.pk, staging.pk, prod.pk]
    for filters, key in [({}, slice(0, 3)), ({}, slice(3, 9)), ({"environment": "staging"}, slice(0, 50)),
                         ({"q": "zzz"}, slice(0, 50)), ({}, slice(0, 0))]:
        table = selectors.agent_table(choices=choices, **filters)
        with django_assert_num_queries(1):
            page = table[key]
        assert page == list(selectors._agents_matching(**filters).values(*selectors.AGENT_TABLE_COLUMNS)[key])
        with django_assert_num_queries(0):
            joined = selectors.agent_rows(agents=[dict(a) for a in page], environments=columns, teams=teams,
                                          placed=table.placed)
        assert joined == selectors.agent_rows(agents=[dict(a) for a in page], environments=columns, teams=teams)


def test_an_environments_links_are_what_url_gives(envs):
    from portal.catalog.views import environment_urls
    name = envs[0].name
    assert environment_urls(name) == {
        "home": reverse("home"), "edit": reverse("catalog:environment_edit", args=[name]),
        "sync": reverse("catalog:environment_sync", args=[name]), "readiness": reverse("health:readiness", args=[name])}


def test_the_environment_page_reads_its_environment_sync_and_node_pools_in_one_query(envs, django_assert_num_queries):
    """#11: environment_page gives the ORM's environment (with its approver group), its latest sync and its node
    pools' rows (taints decoded, by name), with no pools, one or several."""
    from portal.catalog.models import Environment, EnvironmentSync, NodePool
    from tests.factories import NodePoolFactory

    dev, staging, prod = envs
    NodePoolFactory(environment=dev, name="user", taints=["workload=agents:NoSchedule", '<b> & "q"'])
    NodePoolFactory(environment=dev, name="system", mode="System", taints=[])
    NodePoolFactory(environment=staging, name="only")
    EnvironmentSync.objects.create(environment=dev)
    for env in envs:
        with django_assert_num_queries(1):
            environment, sync, pools = selectors.environment_page(name=env.name)
        expected = Environment.objects.select_related("approver_group").get(name=env.name)
        expected_sync = EnvironmentSync.objects.filter(environment=env).first()  # its ordering: newest first
        assert _fields(environment) == _fields(expected)
        assert environment.approver_group == expected.approver_group
        assert (sync and _fields(sync)) == (expected_sync and _fields(expected_sync))
        assert pools == list(NodePool.objects.filter(environment=env).order_by("name").values(*selectors.POOL_COLUMNS))
    assert [pool["name"] for pool in selectors.environment_page(name="dev")[2]] == ["system", "user"]
    assert selectors.environment_page(name="prod")[2] == []
    with pytest.raises(Environment.DoesNotExist):
        selectors.environment_page(name="nowhere")
