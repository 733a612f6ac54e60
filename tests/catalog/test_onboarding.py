"""Onboarding an agent: the guided form and its checks, registering, the checklist, promotion."""

from datetime import timedelta
from html import unescape

import pytest
from django.contrib.auth.models import Group
from django.urls import resolve, reverse
from django.utils import timezone

from portal.accounts import roles
from portal.audit.models import AuditEvent
from portal.catalog import onboarding, onboarding_views
from portal.catalog.choices import PlacementStatus
from portal.catalog.models import Agent, Placement
from portal.catalog.naming import suggest_blob_container_name
from portal.catalog.services import RedisFull, redis_allocate
from portal.deployments.choices import ClusterAction, DeploymentKind, DeploymentStatus
from portal.deployments.models import ApprovalRequest, Deployment
from portal.deployments.secrets import seal, unseal
from portal.deployments.services import deployment_execute, deployment_preview_run
from tests.factories import AgentFactory, EnvironmentFactory, PlacementFactory, TeamFactory

NEW = "/agents/new/"
LONG_SLUG = "product-management-normalization-classification"  # cold-…-chat-memory is 64 characters


@pytest.fixture
def envs(role_groups):
    """dev (one agent on Redis database 1), staging, and prod with one approval."""
    dev = EnvironmentFactory(name="dev", position=0, cosmos_containers=["orders"])
    staging = EnvironmentFactory(name="staging", position=1)
    prod = EnvironmentFactory(name="prod", position=2, approvals_required=1,
                              approver_group=Group.objects.get(name=roles.APPROVER))
    TeamFactory(slug="ecommerce", name="E-commerce team")
    agent = AgentFactory(slug="ecommerce-catalog-search", owner_team=TeamFactory(slug="ecommerce"))
    PlacementFactory(agent=agent, environment=dev, redis_db=1)
    return {"dev": dev, "staging": staging, "prod": prod}


def identity(**overrides):
    return {"slug": "ecommerce-gift-finder", "display_name": "Gift Finder", "domain": "ecommerce",
            "owner_team": "ecommerce", "description": "Suggests gifts.", **overrides}


def resources(slug="ecommerce-gift-finder", **overrides):
    return {"image": f"holidaypeakhubacr.azurecr.io/agents/{slug}", "image_tag": "1.0.0", "replicas": "2",
            "health_path": "/health", "memory_tiers": ["hot", "warm", "cold"],
            "warm_container": f"warm-{slug}-chat-memory", "cold_container": f"cold-{slug}-chat-memory",
            "redis_mode": "own", "redis_share_db": "", "needs_openai": "on", "names_for": slug, **overrides}


def page(response):
    return unescape(response.content.decode())


def check(client, field, data):
    return client.post(reverse("catalog:agent_onboard_check", args=[field]), data, HTTP_HX_REQUEST="true")


# --- Routing and permissions -------------------------------------------------------------------

def test_onboarding_is_routed_at_agents_new_before_the_agent_page(db):
    assert reverse("catalog:agent_onboard") == NEW
    assert resolve(NEW).func is onboarding_views.agent_onboard


def test_viewer_gets_403_on_the_onboarding_form(envs, client_for, viewer):
    assert client_for(viewer).get(NEW).status_code == 403
    assert client_for(viewer).post(NEW, {"step": "1", "go": "2", **identity()}).status_code == 403
    assert check(client_for(viewer), "slug", identity()).status_code == 403


def test_anonymous_is_sent_to_sign_in(envs, client_for):
    response = client_for(None).get(NEW)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_onboarding_form_refuses_other_methods(envs, client_for, engineer):
    assert client_for(engineer).put(NEW).status_code == 405
    assert client_for(engineer).get(reverse("catalog:agent_onboard_check", args=["slug"])).status_code == 405


# --- Validation, field by field ----------------------------------------------------------------

@pytest.mark.parametrize("slug, message", [
    ("Gift_Finder", "Try “gift-finder”"),
    ("-gift-", "starting and ending with a letter or digit"),
    ("1gift", "must start with a letter"),
    ("ab", "is 2 characters; the agent module takes 3 to 50"),
    ("a" * 51, "is 51 characters; the agent module takes 3 to 50"),
    ("new", "taken by the portal's own pages"),
])
def test_bad_slug_says_what_to_change(envs, client_for, engineer, slug, message):
    html = page(check(client_for(engineer), "slug", identity(slug=slug)))
    assert message in html
    assert 'id="slug-feedback"' in html


def test_duplicate_slug_is_refused_naming_its_owner(envs, client_for, engineer):
    html = page(check(client_for(engineer), "slug", identity(slug="ecommerce-catalog-search")))
    assert "An agent with the slug “ecommerce-catalog-search” is already registered (E-commerce team)" in html


def test_long_blob_container_name_is_offered_the_shorter_compliant_one(envs, client_for, engineer):
    shorter = suggest_blob_container_name(LONG_SLUG)
    data = {**identity(slug=LONG_SLUG), **resources(slug=LONG_SLUG)}
    html = page(check(client_for(engineer), "cold_container", data))
    assert f"“cold-{LONG_SLUG}-chat-memory” is 64 characters; blob container names are 3 to 63" in html
    assert f"Use “{shorter}” instead" in html
    assert 'name="use_cold_suggestion"' in html and len(shorter) <= 63


def test_step_two_offers_the_shorter_blob_name_before_anything_is_typed(envs, client_for, engineer):
    html = page(client_for(engineer).post(NEW, {"step": "1", "go": "2", **identity(slug=LONG_SLUG)}))
    assert "is 64 characters" in html
    assert f"Use <code>{suggest_blob_container_name(LONG_SLUG)}</code>" in html


def test_accepting_the_suggested_blob_name_fills_it_in_without_javascript(envs, client_for, engineer):
    shorter = suggest_blob_container_name(LONG_SLUG)
    response = client_for(engineer).post(NEW, {"step": "2", "use_cold_suggestion": "1",
                                               **identity(slug=LONG_SLUG), **resources(slug=LONG_SLUG)})
    html = page(response)
    assert response.status_code == 200
    assert f'name="cold_container" value="{shorter}"' in html
    assert "is 64 characters" not in html


@pytest.mark.parametrize("name, message", [
    ("warm/gift#memory", "must not contain '#' '/'"),
    ("orders", "is one of dev's operational Cosmos DB containers"),
    ("warm-ecommerce-catalog-search-chat-memory",
     "already the warm-memory container of ecommerce-catalog-search in dev"),
])
def test_bad_cosmos_container_name_says_what_to_change(envs, client_for, engineer, name, message):
    html = page(check(client_for(engineer), "warm_container",
                 {**identity(), **resources(warm_container=name)}))
    assert message in html


def test_blob_container_of_another_agent_is_refused(envs, client_for, engineer):
    taken = suggest_blob_container_name("ecommerce-catalog-search")
    html = page(check(client_for(engineer), "cold_container", {**identity(), **resources(cold_container=taken)}))
    assert "already the cold-memory container of ecommerce-catalog-search in dev" in html


def test_image_with_a_tag_is_told_to_put_the_version_in_tag(envs, client_for, engineer):
    html = page(check(client_for(engineer), "image",
                 {**identity(), **resources(image="acr.example.io/agents/gift:1.2")}))
    assert "Put the version in Tag" in html and "“acr.example.io/agents/gift”" in html


def test_htmx_field_check_returns_only_the_field_fragment(envs, client_for, engineer):
    response = check(client_for(engineer), "slug", identity())
    html = page(response)
    assert response.status_code == 200
    assert "<html" not in html and html.strip().startswith('<div id="slug-feedback"')
    assert "Looks good." in html
    assert "HX-Request" in response["Vary"]


def test_field_check_for_an_unknown_field_is_404(envs, client_for, engineer):
    assert check(client_for(engineer), "owner_team_id", identity()).status_code == 404


def test_fields_carry_their_live_check(envs, client_for, engineer):
    html = page(client_for(engineer).get(NEW))
    assert f'hx-post="{reverse("catalog:agent_onboard_check", args=["slug"])}"' in html
    assert 'hx-target="#slug-feedback"' in html


# --- Redis ---------------------------------------------------------------------------------------

def test_redis_full_in_the_environment_names_the_options(demo, client_for, engineer):
    client = client_for(engineer)
    step2 = page(client.post(NEW, {"step": "1", "go": "2", **identity()}))
    assert "No free Redis database in dev" in step2
    assert "a larger SKU (P2: 32, P3: 48, P4: 64, P5: 64 databases)" in step2
    assert "share a database with another agent" in step2
    response = client.post(NEW, {"step": "2", "go": "3", **identity(), **resources()})
    html = page(response)
    assert response.status_code == 400
    assert ("No free Redis database in dev: its Premium P1 (6 GB) cache has 16 databases, 1 kept for the "
            "platform") in html


def test_redis_allocation_at_the_sku_limit_and_after_a_release(db):
    env = EnvironmentFactory(name="dev", redis_sku="P1", redis_reserved_databases=1)
    placements = [PlacementFactory(environment=env, redis_db=db) for db in range(1, 16)]
    options = onboarding.redis_options(environment=env)
    assert options.full and options.next_free is None
    with pytest.raises(RedisFull, match="larger SKU"):
        redis_allocate(placement=Placement(agent=AgentFactory(), environment=env))
    placements[6].delete()  # database 7 released
    assert onboarding.redis_options(environment=env).next_free == 7
    assert redis_allocate(placement=Placement(agent=AgentFactory(), environment=env)) == 7


def test_clustered_cache_full_says_only_sharing_helps(db):
    env = EnvironmentFactory(name="dev", redis_sku="P3", redis_clustered=True)
    message = onboarding.redis_options(environment=env).full_message
    assert "a clustered cache has database 0 only" in message and "larger SKU" not in message


def test_share_needs_a_database_to_share(demo, client_for, engineer):
    html = page(check(client_for(engineer), "redis_share_db",
                 {**identity(), **resources(redis_mode="share")}))
    assert "Choose the database to share" in html and "“ecommerce-gift-finder:”" in html


def test_sharing_a_database_in_a_full_environment_is_recorded(demo, client_for, engineer,
                                                              django_capture_on_commit_callbacks):
    client = client_for(engineer)
    data = {**identity(), **resources(redis_mode="share", redis_share_db="3")}
    review = page(client.post(NEW, {"step": "2", "go": "3", **data}))
    assert "shared with" in review and "keys prefixed <code>ecommerce-gift-finder:</code>" in review
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(NEW, {"step": "3", "register": "1", **data})
    assert response.status_code == 302
    placement = Placement.objects.get(agent__slug="ecommerce-gift-finder")
    deployment = Deployment.objects.get(agent=placement.agent)
    assert (placement.redis_db, placement.redis_key_prefix) == (3, "ecommerce-gift-finder:")
    assert deployment.parameters["redisDatabase"] == 3
    event = AuditEvent.objects.get(action="placement.created", object_id=str(placement.pk))
    assert event.details["redis"] == {"database": 3, "shared": True, "prefix": "ecommerce-gift-finder:"}


# --- The step-by-step flow without JavaScript ----------------------------------------------------

def test_no_js_step_by_step_flow_registers_agent_placement_and_deployment(envs, client_for, engineer,
                                                                          django_capture_on_commit_callbacks):
    client = client_for(engineer)
    assert 'name="slug"' in page(client.get(NEW))

    step2 = client.post(NEW, {"step": "1", "go": "2", **identity()})
    html = page(step2)
    assert step2.status_code == 200 and "2. Resources" in html
    assert 'type="hidden" name="slug" value="ecommerce-gift-finder"' in html
    assert 'value="warm-ecommerce-gift-finder-chat-memory"' in html
    assert "Its own database: 2, the lowest free in dev" in html

    review = client.post(NEW, {"step": "2", "go": "3", **identity(), **resources()})
    html = page(review)
    assert review.status_code == 200 and "3. Review" in html
    assert "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers" in html
    assert "holidaypeakhub-dev-cosmos/holidaypeakhub/warm-ecommerce-gift-finder-chat-memory" in html
    assert "holidaypeakhubdevst/default/cold-ecommerce-gift-finder-chat-memory" in html
    assert "Microsoft.CognitiveServices/accounts" in html  # OpenAI chosen
    assert "Microsoft.Search/searchServices" not in html  # AI Search not chosen
    assert "<strong>2</strong>, the lowest free now" in html

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(NEW, {"step": "3", "register": "1", **identity(), **resources()})
    agent = Agent.objects.get(slug="ecommerce-gift-finder")
    assert response.status_code == 302 and response["Location"] == agent.get_absolute_url()
    assert (agent.owner_team.slug, agent.created_by, agent.needs_openai, agent.needs_ai_search) == \
        ("ecommerce", engineer, True, False)
    placement = agent.placements.get()
    assert (placement.environment.name, placement.status, placement.redis_db, placement.replicas,
            placement.image_tag) == ("dev", PlacementStatus.PROVISIONING, 2, 2, "1.0.0")
    assert placement.blob_container == "cold-ecommerce-gift-finder-chat-memory"
    deployment = Deployment.objects.get(agent=agent)
    assert (deployment.template, deployment.environment.name, deployment.status, deployment.reason) == \
        ("agent", "dev", DeploymentStatus.VALIDATING, "Onboarding")
    assert deployment.auto_confirm and deployment.then_apply_workload and deployment.requested_by == engineer
    assert deployment.parameters == {
        "agentName": "ecommerce-gift-finder", "environment": "dev", "location": "eastus",
        "resourceGroupName": "holidaypeakhub-dev-rg", "warmContainerName": "warm-ecommerce-gift-finder-chat-memory",
        "coldContainerName": "cold-ecommerce-gift-finder-chat-memory", "redisDatabase": 2,
        "enableAiSearch": False, "enableOpenAi": True, "createWarmContainer": True, "createColdContainer": True}
    assert len(callbacks) == 1  # the preview, enqueued on commit
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"agent.onboarded", "placement.created", "deployment.requested"} <= actions


def test_step_with_errors_answers_400_and_keeps_the_input(envs, client_for, engineer):
    response = client_for(engineer).post(NEW, {"step": "1", "go": "2", **identity(slug="Bad Slug", display_name="")})
    html = page(response)
    assert response.status_code == 400
    assert 'value="Bad Slug"' in html and "This field is required." in html and "1. The agent" in html


def test_going_back_keeps_every_value(envs, client_for, engineer):
    client = client_for(engineer)
    back = page(client.post(NEW, {"step": "2", "go": "1", **identity(), **resources(image_tag="2.0.0")}))
    assert 'name="slug"' in back and 'value="ecommerce-gift-finder"' in back
    assert '<input type="hidden" name="image_tag" value="2.0.0">' in back
    assert "This field is required" not in back
    forward = page(client.post(NEW, {"step": "1", "go": "2", **identity(), **resources(image_tag="2.0.0")}))
    assert 'name="image_tag" value="2.0.0"' in forward


def test_changing_the_slug_renames_containers_left_at_their_defaults(envs, client_for, engineer):
    data = {**identity(slug="ecommerce-gift-helper"), **resources()}  # names made for ecommerce-gift-finder
    html = page(client_for(engineer).post(NEW, {"step": "1", "go": "2", **data}))
    assert 'value="warm-ecommerce-gift-helper-chat-memory"' in html
    assert 'value="cold-ecommerce-gift-helper-chat-memory"' in html


def test_registration_revalidates_what_the_browser_sent(envs, client_for, engineer, django_capture_on_commit_callbacks):
    AgentFactory(slug="ecommerce-gift-finder")  # registered by someone else after the review
    with django_capture_on_commit_callbacks(execute=False):
        response = client_for(engineer).post(NEW, {"step": "3", "register": "1", **identity(), **resources()})
    assert response.status_code == 400
    assert "already registered" in page(response)
    assert not Deployment.objects.exists()


def test_onboard_service_refuses_a_name_taken_meanwhile_and_creates_nothing(envs, engineer):
    form = onboarding.OnboardingWizard(None, environment=envs["dev"])
    assert form.step == 1
    ident = {"slug": "ecommerce-gift-finder", "display_name": "Gift", "domain": "ecommerce",
             "owner_team": TeamFactory(slug="ecommerce"), "description": ""}
    res = {**resources(), "replicas": 1, "redis_share_db": None, "needs_openai": False, "needs_ai_search": False,
           "cold_container": suggest_blob_container_name("ecommerce-catalog-search")}
    with pytest.raises(onboarding.ConflictError) as caught:
        onboarding.agent_onboard(identity=ident, resources=res, environment=envs["dev"], user=engineer)
    assert caught.value.field == "cold_container"
    assert not Agent.objects.filter(slug="ecommerce-gift-finder").exists()


# --- The checklist ---------------------------------------------------------------------------------

def _run(agent, env, *, status, kind=DeploymentKind.TEMPLATE, parameters=None, ago=0, **fields):
    run = Deployment.objects.create(
        agent=agent, environment=env, kind=kind, status=status, parameters=parameters or {},
        template="agent" if kind == DeploymentKind.TEMPLATE else "cluster-apply",
        cluster_action=ClusterAction.APPLY if kind == DeploymentKind.CLUSTER else "",
        finished_at=timezone.now() - timedelta(seconds=ago) if status == DeploymentStatus.SUCCEEDED else None,
        **fields)
    Deployment.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(seconds=ago + 1))
    return run


@pytest.fixture
def onboarded(envs):
    agent = AgentFactory(slug="ecommerce-gift-finder")
    PlacementFactory(agent=agent, environment=envs["dev"], redis_db=2, status=PlacementStatus.PROVISIONING)
    return agent


def _checklist(client, agent):
    return client.get(reverse("catalog:agent_checklist", args=[agent.slug]), HTTP_HX_REQUEST="true")


def _states(agent):
    return {step.key: step.state for step in onboarding.agent_checklist(agent=agent).steps}


def test_checklist_while_resources_deploy_is_in_progress_and_polls(onboarded, envs, client_for, viewer):
    run = _run(onboarded, envs["dev"], status=DeploymentStatus.RUNNING, then_apply_workload=True)
    response = _checklist(client_for(viewer), onboarded)
    html = page(response)
    assert response.status_code == 200
    assert 'hx-trigger="every 2s"' in html and "<html" not in html
    assert f'href="/deployments/{run.pk}/"' in html
    assert _states(onboarded) == {"registered": "done", "resources": "active", "workload": "todo",
                                  "health": "unknown"}


def test_checklist_after_the_resources_waits_for_the_chained_workload(onboarded, envs):
    _run(onboarded, envs["dev"], status=DeploymentStatus.SUCCEEDED, then_apply_workload=True)
    assert _states(onboarded)["workload"] == "active"


def test_checklist_when_everything_ran_stops_polling_with_286(onboarded, envs, client_for, viewer):
    _run(onboarded, envs["dev"], status=DeploymentStatus.SUCCEEDED, then_apply_workload=True, ago=60)
    _run(onboarded, envs["dev"], status=DeploymentStatus.SUCCEEDED, kind=DeploymentKind.CLUSTER, ago=30)
    Placement.objects.filter(agent=onboarded).update(status=PlacementStatus.RUNNING)
    response = _checklist(client_for(viewer), onboarded)
    html = page(response)
    assert response.status_code == 286
    assert "hx-trigger" not in html
    assert _states(onboarded) == {"registered": "done", "resources": "done", "workload": "done", "health": "unknown"}
    assert '<li class="check check-unknown" data-step="health">' in html and "not checked yet" in html


def test_checklist_with_failed_resources_shows_it_and_stops_polling(onboarded, envs, client_for, viewer):
    _run(onboarded, envs["dev"], status=DeploymentStatus.FAILED, then_apply_workload=True)
    assert _checklist(client_for(viewer), onboarded).status_code == 286
    assert _states(onboarded) == {"registered": "done", "resources": "failed", "workload": "todo",
                                  "health": "unknown"}


def test_checklist_with_a_failed_workload_shows_it(onboarded, envs):
    _run(onboarded, envs["dev"], status=DeploymentStatus.SUCCEEDED, then_apply_workload=True, ago=60)
    _run(onboarded, envs["dev"], status=DeploymentStatus.FAILED, kind=DeploymentKind.CLUSTER, ago=30)
    assert _states(onboarded)["workload"] == "failed"


def test_checklist_fills_in_as_the_onboarding_deployment_runs(envs, client_for, engineer,
                                                              django_capture_on_commit_callbacks):
    client = client_for(engineer)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(NEW, {"step": "3", "register": "1", **identity(), **resources()})
    agent = Agent.objects.get(slug="ecommerce-gift-finder")
    assert _states(agent) == {"registered": "done", "resources": "active", "workload": "todo", "health": "unknown"}
    resources_run = Deployment.objects.get(agent=agent)
    with django_capture_on_commit_callbacks(execute=False):
        assert deployment_preview_run(deployment_id=resources_run.pk).status == DeploymentStatus.QUEUED
        assert deployment_execute(deployment_id=resources_run.pk).status == DeploymentStatus.SUCCEEDED
    workload_run = Deployment.objects.get(agent=agent, kind=DeploymentKind.CLUSTER)
    assert _states(agent)["resources"] == "done" and _states(agent)["workload"] == "active"
    with django_capture_on_commit_callbacks(execute=False):
        assert deployment_execute(deployment_id=workload_run.pk).status == DeploymentStatus.SUCCEEDED
    assert _states(agent) == {"registered": "done", "resources": "done", "workload": "done", "health": "unknown"}
    assert agent.placements.get().status == PlacementStatus.RUNNING
    assert _checklist(client, agent).status_code == 286


def test_polled_checklist_query_count_does_not_grow_with_the_runs(onboarded, envs, client_for, viewer,
                                                                   django_assert_num_queries):
    client = client_for(viewer)
    _run(onboarded, envs["dev"], status=DeploymentStatus.RUNNING, then_apply_workload=True)
    _checklist(client, onboarded)  # warm the session and permission caches
    with django_assert_num_queries(14) as first:  # the checklist (with its health checks) and the promotion section
        _checklist(client, onboarded)
    for ago in range(5):
        _run(onboarded, envs["dev"], status=DeploymentStatus.FAILED, kind=DeploymentKind.CLUSTER, ago=ago + 10)
    with django_assert_num_queries(len(first.captured_queries)):
        _checklist(client, onboarded)


def test_health_checks_are_never_shown_green(onboarded, envs):
    Placement.objects.filter(agent=onboarded).update(status=PlacementStatus.RUNNING)
    step = onboarding.agent_checklist(agent=onboarded).steps[-1]
    assert (step.key, step.state, step.state_label) == ("health", "unknown", "not checked yet")


def test_agent_page_shows_the_onboarding_checklist_in_the_page(onboarded, client_for, viewer):
    html = page(client_for(viewer).get(onboarded.get_absolute_url()))
    assert 'id="agent-checklist"' in html and "Workload running" in html
    assert 'hx-trigger="load"' not in html  # rendered with the page, no second request


def test_onboarding_section_without_htmx_is_the_agent_page_with_the_checklist(onboarded, client_for, viewer):
    response = client_for(viewer).get(reverse("catalog:agent_onboarding", args=[onboarded.slug]))
    html = page(response)
    assert response.status_code == 200 and "<html" in html
    assert 'id="agent-checklist"' in html and "Workload running" in html
    assert "Promote to staging" not in html  # a viewer sees no promote button
    assert "staging" in html


def test_onboarding_section_for_htmx_is_the_fragment(onboarded, client_for, engineer):
    response = client_for(engineer).get(reverse("catalog:agent_onboarding", args=[onboarded.slug]),
                                        HTTP_HX_REQUEST="true")
    html = page(response)
    assert "<html" not in html and html.strip().startswith('<section class="card" id="onboarding"')
    assert "Promote to staging" in html and "HX-Request" in response["Vary"]


def test_checklist_without_htmx_redirects_to_the_page(onboarded, client_for, viewer):
    response = client_for(viewer).get(reverse("catalog:agent_checklist", args=[onboarded.slug]))
    assert response.status_code == 302
    assert response["Location"] == reverse("catalog:agent_onboarding", args=[onboarded.slug])


# --- Promotion ---------------------------------------------------------------------------------------

DEV_PARAMETERS = {"agentName": "ecommerce-gift-finder", "environment": "dev", "location": "eastus",
                  "resourceGroupName": "holidaypeakhub-dev-rg", "storageAccountName": "holidaypeakhubdevst",
                  "warmContainerName": "warm-ecommerce-gift-finder-chat-memory",
                  "coldContainerName": "cold-ecommerce-gift-finder-chat-memory", "redisDatabase": 2,
                  "enableAiSearch": False, "enableOpenAi": True, "openAiCapacity": 20, "tags": {"cost": "gifts"}}


def _promote(client, agent, environment, reason=""):
    return client.post(reverse("catalog:agent_promote", args=[agent.slug]),
                       {"environment": environment, "reason": reason})


def test_promote_to_staging_carries_the_parameters_over(onboarded, envs, client_for, engineer,
                                                        django_capture_on_commit_callbacks):
    Placement.objects.filter(agent=onboarded).update(image_tag="1.4.2", replicas=2,
                                                     cosmos_container="warm-ecommerce-gift-finder-chat-memory",
                                                     blob_container="cold-ecommerce-gift-finder-chat-memory")
    source = _run(onboarded, envs["dev"], status=DeploymentStatus.SUCCEEDED, parameters=DEV_PARAMETERS,
                  secure_parameters=seal({"openAiApiKeyOverride": "sk-test"}),
                  secure_parameter_names=["openAiApiKeyOverride"])
    with django_capture_on_commit_callbacks(execute=False):
        response = _promote(client_for(engineer), onboarded, "staging")
    deployment = Deployment.objects.exclude(pk=source.pk).get()
    assert response.status_code == 302 and response["Location"] == deployment.get_absolute_url()
    assert deployment.parameters == {
        **{k: v for k, v in DEV_PARAMETERS.items() if k != "storageAccountName"},
        "environment": "staging", "resourceGroupName": "holidaypeakhub-staging-rg", "redisDatabase": 1}
    assert unseal(deployment.secure_parameters) == {"openAiApiKeyOverride": "sk-test"}
    assert deployment.auto_confirm and deployment.then_apply_workload and deployment.agent == onboarded
    assert deployment.reason == f"Promotion from dev (#{source.pk})"
    placement = Placement.objects.get(agent=onboarded, environment=envs["staging"])
    assert (placement.status, placement.image_tag, placement.replicas, placement.redis_db) == \
        (PlacementStatus.PROVISIONING, "1.4.2", 2, 1)
    assert AuditEvent.objects.filter(action="agent.promoted", object_id=str(onboarded.pk)).exists()


def test_promote_needs_a_successful_deployment_in_the_previous_environment(onboarded, envs, client_for, engineer):
    _run(onboarded, envs["dev"], status=DeploymentStatus.FAILED, parameters=DEV_PARAMETERS)
    response = _promote(client_for(engineer), onboarded, "staging")
    assert response.status_code == 400
    assert "no successful deployment of the agent module in dev" in page(response)
    assert not Placement.objects.filter(environment=envs["staging"]).exists()


def test_promote_to_prod_needs_a_reason(onboarded, envs, client_for, engineer):
    PlacementFactory(agent=onboarded, environment=envs["staging"], redis_db=1)
    _run(onboarded, envs["staging"], status=DeploymentStatus.SUCCEEDED,
         parameters={**DEV_PARAMETERS, "environment": "staging"})
    response = _promote(client_for(engineer), onboarded, "prod")
    html = page(response)
    assert response.status_code == 400
    assert "Deployments to prod need approval: say why in the reason." in html
    assert not Placement.objects.filter(environment=envs["prod"]).exists()  # nothing kept
    assert not Deployment.objects.filter(environment=envs["prod"]).exists()


def test_promote_to_prod_with_a_reason_ends_awaiting_approval(onboarded, envs, client_for, engineer,
                                                              django_capture_on_commit_callbacks):
    PlacementFactory(agent=onboarded, environment=envs["staging"], redis_db=1, image_tag="1.4.1")
    _run(onboarded, envs["staging"], status=DeploymentStatus.SUCCEEDED,
         parameters={**DEV_PARAMETERS, "environment": "staging"})
    with django_capture_on_commit_callbacks(execute=False):
        response = _promote(client_for(engineer), onboarded, "prod", reason="Gift season")
        deployment = Deployment.objects.get(environment=envs["prod"])
        assert response.status_code == 302
        previewed = deployment_preview_run(deployment_id=deployment.pk)
    assert previewed.status == DeploymentStatus.AWAITING_APPROVAL
    assert ApprovalRequest.objects.get(deployment=deployment).requested_by == engineer
    assert deployment.parameters["environment"] == "prod" and deployment.reason == "Gift season"
    assert Placement.objects.get(agent=onboarded, environment=envs["prod"]).image_tag == "1.4.1"


def test_promote_refuses_while_a_promotion_is_in_progress(onboarded, envs, client_for, engineer):
    _run(onboarded, envs["dev"], status=DeploymentStatus.SUCCEEDED, parameters=DEV_PARAMETERS)
    pending = _run(onboarded, envs["staging"], status=DeploymentStatus.AWAITING_APPROVAL)
    response = _promote(client_for(engineer), onboarded, "staging")
    assert response.status_code == 409
    assert f"Deployment #{pending.pk}" in page(response)


def test_promote_to_an_unknown_environment_says_so(onboarded, envs, client_for, engineer):
    response = _promote(client_for(engineer), onboarded, "qa")
    assert response.status_code == 400
    assert "Promote to which environment? Select a valid choice." in page(response)


def test_viewer_cannot_promote(onboarded, envs, client_for, viewer):
    assert _promote(client_for(viewer), onboarded, "staging").status_code == 403


def test_promotion_options_say_what_is_ready(onboarded, envs):
    _run(onboarded, envs["dev"], status=DeploymentStatus.SUCCEEDED, parameters=DEV_PARAMETERS)
    staging, prod = onboarding.agent_promotions(agent=onboarded)
    assert (staging.source.name, staging.target.name, staging.ready) == ("dev", "staging", True)
    assert (prod.source.name, prod.target.name, prod.ready) == ("staging", "prod", False)


# --- Issue #9: the agent page tells the truth ---------------------------------------------------

def test_after_promotion_to_prod_the_page_says_prod_and_offers_no_promotion(onboarded, envs, client_for, engineer):
    for env in ("dev", "staging", "prod"):
        if env != "dev":
            PlacementFactory(agent=onboarded, environment=envs[env], redis_db=2, status=PlacementStatus.RUNNING)
        _run(onboarded, envs[env], status=DeploymentStatus.SUCCEEDED)
    html = page(client_for(engineer).get(onboarded.get_absolute_url()))
    assert "Where it is: prod" in html and "Onboarding in dev" not in html
    assert html.count("Promote to") == 0
    assert html.count('<span class="status status-succeeded">done</span>') == 2  # dev → staging, staging → prod


def test_only_the_next_promotion_is_offered(onboarded, envs, client_for, engineer):
    _run(onboarded, envs["dev"], status=DeploymentStatus.SUCCEEDED)
    html = page(client_for(engineer).get(onboarded.get_absolute_url()))
    assert "Promote to staging" in html and "Promote to prod" not in html


def test_the_health_item_reads_the_checks_the_health_board_shows(onboarded, envs):
    from portal.health.choices import CheckKind, HealthState
    from portal.health.models import HealthCheck

    Placement.objects.filter(agent=onboarded).update(status=PlacementStatus.RUNNING)
    HealthCheck.objects.create(environment=envs["dev"], kind=CheckKind.WORKLOAD, target=onboarded.slug,
                               label=onboarded.slug, agent=onboarded, state=HealthState.GREEN,
                               summary="2/2 replicas available")
    step = onboarding.agent_checklist(agent=onboarded).steps[-1]
    assert (step.key, step.state) == ("health", "done")
    assert "2/2 replicas available" in step.detail
    HealthCheck.objects.filter(agent=onboarded).update(state=HealthState.RED, summary="0/2 replicas available")
    assert onboarding.agent_checklist(agent=onboarded).steps[-1].state == "failed"


@pytest.mark.parametrize("tiers, expected", [
    (["hot", "warm", "cold"], {"containers", "blobServices/containers"}),
    (["hot", "warm"], {"containers"}),
    (["hot"], set()),
])
def test_the_memory_tiers_chosen_decide_the_containers_the_agent_module_creates(envs, tiers, expected):
    from portal.catalog.onboarding.plan import agent_parameters
    from portal.deployments import templates

    params = agent_parameters(identity={"slug": "ecommerce-gift-finder"}, environment=envs["dev"], redis_db=2,
                              resources={**resources(), "memory_tiers": tiers, "needs_ai_search": False,
                                         "needs_openai": False, "warm_container": "warm-x", "cold_container": "cold-x"})
    made = {spec.type for spec in templates.template_resources(templates.template_get("agent"), params)}
    kinds = set()
    if "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers" in made:
        kinds.add("containers")
    if "Microsoft.Storage/storageAccounts/blobServices/containers" in made:
        kinds.add("blobServices/containers")
    assert kinds == expected


def test_a_promotion_reason_over_its_limit_is_refused_naming_it_and_kept_as_typed(onboarded, envs, client_for,
                                                                                  engineer):
    """Issue #9: no maxlength cuts a pasted reason in the browser; the server refuses it and keeps it."""
    PlacementFactory(agent=onboarded, environment=envs["staging"], redis_db=1)
    _run(onboarded, envs["staging"], status=DeploymentStatus.SUCCEEDED,
         parameters={**DEV_PARAMETERS, "environment": "staging"})
    typed = "Release for the holiday sale. " * 20  # 600 characters
    response = _promote(client_for(engineer), onboarded, "prod", reason=typed)
    html = page(response)
    assert response.status_code == 400 and "at most 500 characters" in html
    assert f'value="{typed}"' in html and 'maxlength="500"' not in html
    assert not Deployment.objects.filter(environment=envs["prod"]).exists()
