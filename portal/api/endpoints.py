"""The /api/v1/ operations. Each one checks the token's scope and the user's role, then calls the same
selector or service as the page that does the same thing: no rule is skipped or re-implemented here."""

from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import Field

from portal.access import selectors as access_selectors
from portal.accounts.roles import ROLES
from portal.api.choices import TokenScope
from portal.api import selectors as api_selectors
from portal.api.pagination import Mapped, PagePagination, Statement
from portal.api.problems import ProblemError, form_errors
from portal.api.schemas import (
    AgentOut,
    ApprovalOut,
    CostsOut,
    DecisionIn,
    DeploymentDetailOut,
    DeploymentOut,
    DeploymentRequestIn,
    EnvironmentDetailOut,
    EnvironmentOut,
    HealthOut,
    Id,
    LogOut,
    MeOut,
    Name,
    PlacementOut,
    Problem,
    RbacOut,
    TemplateDetailOut,
    TemplateOut,
    parameters_json_schema,
)
from portal.audit.services import audit_record
from portal.catalog import selectors as catalog_selectors
from portal.catalog.models import Agent, Environment, Placement
from portal.core.links import url_of_pk
from portal.costs import selectors as cost_selectors
from portal.deployments import approvals as approval_services
from portal.deployments import selectors as deployment_selectors
from portal.deployments import services as deployment_services
from portal.deployments import templates
from portal.deployments import parameter_rules, scope
from portal.deployments.forms import DecisionForm, RequestDetailsForm
from portal.deployments.choices import CAN_CANCEL, TERMINAL
from portal.deployments.models import ApprovalRequest, Deployment
from portal.deployments.parameter_forms import build_parameter_form, public_parameters, secure_parameters
from portal.health import selectors as health_selectors
from provisioning.text import shorten

router = Router()
ERRORS = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem, 429: Problem}


def allow(request, scope: str, *perms: str) -> Any:
    """The caller's user, when the token carries `scope` and the user's role grants `perms`."""
    principal = request.auth
    refusal = None
    if not principal.has_scope(scope):
        refusal = f"This token does not have the {scope} scope."
    elif not principal.user.has_perms(perms):
        refusal = "Your role does not allow this."
    if refusal:
        audit_record(action="api.forbidden", actor=principal.user, request=request, object_type="api",
                     details={"path": shorten(request.path, 200), "method": request.method, "scope": scope, "why": refusal})
        raise ProblemError(403, refusal, kind="forbidden")
    return principal.user


def api_url(name: str, *args) -> str:
    return reverse(f"api-v1:{name}", args=args)


# --- Who am I -----------------------------------------------------------------------------------

@router.get("/me", response={200: MeOut, **ERRORS}, tags=["account"], summary="The caller, its roles and scopes")
def me(request):
    principal = request.auth
    user = principal.user
    return {"username": user.get_username(), "name": user.get_full_name(), "email": user.email,
            "roles": sorted(user.groups.filter(name__in=ROLES).values_list("name", flat=True)),
            "scopes": sorted(principal.scopes), "via": principal.via}


# --- Environments, agents, placements -----------------------------------------------------------

def _environment(env: Environment) -> dict:
    return {"name": env.name, "tier": env.tier, "region": env.region, "resource_group": env.resource_group,
            "aks_cluster": env.aks_cluster, "redis_sku": env.redis_sku,
            "redis_database_limit": env.redis_database_limit, "monthly_budget": env.monthly_budget,
            "approvals_required": env.approvals_required, "needs_approval": env.needs_approval,
            "url": api_url("environment", env.name)}


def _placement(p: Placement) -> dict:
    return {"id": p.pk, "agent": p.agent.slug, "environment": p.environment.name, "status": p.status,
            "status_detail": p.status_detail, "redis_db": p.redis_db, "redis_key_prefix": p.redis_key_prefix,
            "cosmos_container": p.cosmos_container, "blob_container": p.blob_container, "image_tag": p.image_tag,
            "replicas": p.replicas}


def _agent(agent: Agent) -> dict:
    return {"slug": agent.slug, "display_name": agent.display_name, "domain": agent.domain,
            "owner_team": agent.owner_team.slug, "image": agent.image, "url": api_url("agent", agent.slug),
            "placements": [_placement(p) for p in agent.placements.all()]}


@router.get("/environments", response={200: list[EnvironmentOut], **ERRORS}, tags=["catalog"])
@paginate(PagePagination)
def environment_list(request):
    allow(request, TokenScope.READ, "catalog.view_environment")
    return Mapped(Environment.objects.order_by("position", "name"), _environment)


@router.get("/environments/{name}", response={200: EnvironmentDetailOut, **ERRORS}, tags=["catalog"],
            url_name="environment")
def environment_detail(request, name: Name):
    allow(request, TokenScope.READ, "catalog.view_environment")
    try:
        env = catalog_selectors.environment_get(name=name)
    except Environment.DoesNotExist:
        raise ProblemError(404, f"There is no environment named {name!r}.", kind="not-found")
    return {**_environment(env), "cosmos_containers": env.cosmos_containers, "event_hub_topics": env.event_hub_topics,
            "node_pools": [{"name": p.name, "vm_size": p.vm_size, "min_nodes": p.min_nodes, "max_nodes": p.max_nodes,
                            "taints": p.taints} for p in env.node_pools.all()]}


class AgentFilters(Schema):
    q: str = Field("", max_length=100, pattern=r"^[^\x00]*$")
    domain: str = Field("", max_length=50, pattern=r"^[^\x00]*$")
    team: str = Field("", max_length=50, pattern=r"^[^\x00]*$")
    environment: str = Field("", max_length=20, pattern=r"^[^\x00]*$")


@router.get("/agents", response={200: list[AgentOut], **ERRORS}, tags=["catalog"])
@paginate(PagePagination)
def agent_list(request, filters: Query[AgentFilters]):
    allow(request, TokenScope.READ, "catalog.view_agent")
    return Mapped(catalog_selectors.agent_list(**filters.model_dump()), _agent)


@router.get("/agents/{slug}", response={200: AgentOut, **ERRORS}, tags=["catalog"], url_name="agent")
def agent_detail(request, slug: Name):
    allow(request, TokenScope.READ, "catalog.view_agent")
    try:
        return _agent(catalog_selectors.agent_get(slug=slug))
    except Agent.DoesNotExist:
        raise ProblemError(404, f"There is no agent named {slug!r}.", kind="not-found")


class PlacementFilters(Schema):
    environment: str = Field("", max_length=20, pattern=r"^[^\x00]*$")
    agent: str = Field("", max_length=100, pattern=r"^[^\x00]*$")


@router.get("/placements", response={200: list[PlacementOut], **ERRORS}, tags=["catalog"])
@paginate(PagePagination)
def placement_list(request, filters: Query[PlacementFilters]):
    allow(request, TokenScope.READ, "catalog.view_placement")
    qs = Placement.objects.select_related("agent", "environment").order_by("environment__position", "agent__slug")
    if filters.environment:
        qs = qs.filter(environment__name=filters.environment)
    if filters.agent:
        qs = qs.filter(agent__slug=filters.agent)
    return Mapped(qs, _placement)


# --- Templates ----------------------------------------------------------------------------------

def _template(info) -> dict:
    return {"name": info.name, "description": info.description or "", "content_hash": info.content_hash,
            "url": api_url("template", info.name)}


@router.get("/templates", response={200: list[TemplateOut], **ERRORS}, tags=["deployments"])
@paginate(PagePagination)
def template_list(request):
    allow(request, TokenScope.READ, "deployments.view_deployment")
    return [_template(info) for info in templates.template_catalog()]


@router.get("/templates/{name}", response={200: TemplateDetailOut, **ERRORS}, tags=["deployments"],
            url_name="template")
def template_detail(request, name: Name):
    allow(request, TokenScope.READ, "deployments.view_deployment")
    info = templates.template_get(name)
    return {**_template(info), "parameters_schema": parameters_json_schema(templates.template_parameters(info))}


# --- Deployments --------------------------------------------------------------------------------

def _deployment(d: Deployment) -> dict:
    approval = getattr(d, "approval", None)
    return {"id": d.pk, "kind": d.kind, "template": d.template, "environment": d.environment.name,
            "status": d.status, "finished": d.is_terminal, "reason": d.reason,
            "requested_by": d.requested_by.get_username() if d.requested_by else None,
            "agent": d.agent.slug if d.agent else None, "retry_of": d.retry_of_id, "created_at": d.created_at,
            "started_at": d.started_at, "finished_at": d.finished_at, "parameters": d.parameters,
            "secure_parameter_names": d.secure_parameter_names, "error": d.error,
            "approval": approval.pk if approval else None, "can_cancel": d.can_cancel,
            "url": api_url("deployment", d.pk), "log_url": api_url("deployment_log", d.pk),
            "web_url": d.get_absolute_url()}


def _deployment_detail(d: Deployment) -> dict:
    return {**_deployment(d), "preview": d.what_if,
            "operations": [{"resource_type": o.resource_type, "resource_name": o.resource_name, "state": o.state,
                            "status_code": o.status_code} for o in d.operations.all()]}


def _get_deployment(pk: int) -> Deployment:
    try:
        return deployment_selectors.deployment_get(pk=pk)
    except Deployment.DoesNotExist:
        raise ProblemError(404, f"There is no deployment #{pk}.", kind="not-found")


def _accepted(response: HttpResponse, d: Deployment):
    """202 Accepted: the run goes on in the background; Location is where to follow it."""
    response["Location"] = api_url("deployment", d.pk)
    return Status(202, _deployment_detail(_get_deployment(d.pk)))


class DeploymentFilters(Schema):
    environment: str = Field("", max_length=20, pattern=r"^[^\x00]*$")
    status: str = Field("", max_length=20, pattern=r"^[^\x00]*$", description="A status, or 'active'.")
    template: str = Field("", max_length=100, pattern=r"^[^\x00]*$")


def _deployment_items(filters: DeploymentFilters) -> Statement:
    """A page of deployment_list's runs as DeploymentOut dicts, the same as _deployment's, read as plain rows (only
    the columns an item shows, never a run's preview, secrets or ARM state) by one hand-written statement; each URL
    reversed once for the whole page."""
    url, log_url, web_url = (url_of_pk(name) for name in ("api-v1:deployment", "api-v1:deployment_log",
                                                           "deployments:detail"))

    def item(row) -> dict:
        entry = dict(zip(api_selectors.RUN_COLUMNS, row))
        pk, status = entry["id"], entry["status"]
        entry.update(finished=status in TERMINAL, can_cancel=status in CAN_CANCEL and not entry.pop("cancel_requested"),
                     url=url(pk), log_url=log_url(pk), web_url=web_url(pk))
        return entry

    return api_selectors.run_rows(**filters.model_dump(), item=item)


@router.get("/deployments", response={200: list[DeploymentOut], **ERRORS}, tags=["deployments"])
@paginate(PagePagination)
def deployment_list(request, filters: Query[DeploymentFilters]):
    allow(request, TokenScope.READ, "deployments.view_deployment")
    return _deployment_items(filters)


_JSON_TYPES = {"string": (str,), "int": (int,), "bool": (bool,), "object": (dict,), "array": (list,)}


def _parameter_errors(specs, parameters: dict) -> list[dict]:
    """What the form cannot tell from JSON: unknown names and values of the wrong JSON type."""
    by_name = {s.name: s for s in specs}
    errors = []
    for name, value in parameters.items():
        spec = by_name.get(name)
        if spec is None:
            errors.append({"field": f"parameters.{name}", "message": "The template has no parameter of this name."})
        elif value is not None and (not isinstance(value, _JSON_TYPES.get(spec.type, (str,)))
                                    or (spec.type == "int" and isinstance(value, bool))):
            errors.append({"field": f"parameters.{name}", "message": f"Must be a JSON {spec.type}."})
    return errors


@router.post("/deployments", response={202: DeploymentDetailOut, **ERRORS}, tags=["deployments"],
             summary="Request a deployment (preview first; with confirm=true it goes on by itself)")
def deployment_request(request, payload: DeploymentRequestIn, response: HttpResponse):
    user = allow(request, TokenScope.DEPLOY, "deployments.add_deployment")
    environment = Environment.objects.filter(name=payload.environment).first()
    names = {t.name for t in templates.template_catalog()}
    errors = []
    if environment is None:
        errors.append({"field": "environment", "message": f"There is no environment named {payload.environment!r}."})
    if payload.template not in names:
        errors.append({"field": "template", "message": f"There is no template named {payload.template!r} in bicep/."})
    if errors:
        raise ProblemError(422, "The request has errors.", kind="validation", errors=errors)
    info = templates.template_get(payload.template)
    specs = templates.template_parameters(info)
    errors = _parameter_errors(specs, payload.parameters)
    if errors:
        raise ProblemError(422, "The parameters have errors.", kind="validation", errors=errors)
    # Issue #9: what the environment decides comes from it (sent values are ignored), and Azure's rules apply
    # here as in New deployment.
    owned, derived = scope.environment_parameters(environment, specs)
    data = {k: v for k, v in payload.parameters.items() if v is not None and k not in owned and k not in derived}
    data.update(owned)
    form = build_parameter_form(specs)(data)
    details = RequestDetailsForm({"reason": payload.reason})
    if not (form.is_valid() and details.is_valid()):
        raise ProblemError(422, "The parameters have errors.", kind="validation",
                           errors=form_errors(form, prefix="parameters") + form_errors(details))
    problems = parameter_rules.parameter_problems(environment=environment, info=info,
                                                  values={**public_parameters(form), **owned})
    if problems:
        raise ProblemError(422, "Azure would refuse these parameters.", kind="validation",
                           errors=[{"field": f"parameters.{name}", "message": message}
                                   for name, message in problems.items()])
    deployment = deployment_services.deployment_request(
        environment=environment, template=info.name, parameters=public_parameters(form),
        secure_parameters=secure_parameters(form), user=user, request=request,
        reason=details.cleaned_data["reason"], auto_confirm=payload.confirm)
    return _accepted(response, deployment)


@router.get("/deployments/{pk}", response={200: DeploymentDetailOut, **ERRORS}, tags=["deployments"],
            url_name="deployment", summary="A run: its status, preview and resources")
def deployment_detail(request, pk: Id):
    allow(request, TokenScope.READ, "deployments.view_deployment")
    return _deployment_detail(_get_deployment(pk))


@router.get("/deployments/{pk}/preview", response={200: dict[str, Any], **ERRORS}, tags=["deployments"],
            summary="The what-if of a run (empty while it is still validating)")
def deployment_preview(request, pk: Id):
    allow(request, TokenScope.READ, "deployments.view_deployment")
    d = _get_deployment(pk)
    return {"deployment": d.pk, "status": d.status, "ready": d.what_if is not None,
            "groups": {kind: changes for kind, changes in d.what_if_groups}}


@router.get("/deployments/{pk}/log", response={200: LogOut, **ERRORS}, tags=["deployments"],
            url_name="deployment_log", summary="Log lines after a sequence number")
def deployment_log(request, pk: Id, after: int = Query(0, ge=0, le=2_147_483_647)):
    allow(request, TokenScope.READ, "deployments.view_deployment")
    d = _get_deployment(pk)
    lines = deployment_selectors.deployment_log_after(deployment=d, after=after)
    return {"deployment": d.pk, "status": d.status, "finished": d.is_terminal and (not lines or
                                                                               lines[-1].seq >= d.log_seq),
            "after": lines[-1].seq if lines else after,
            "lines": [{"seq": ln.seq, "level": ln.level, "message": ln.message, "at": ln.at} for ln in lines]}


def _act(request, response, pk: int, action, scope: str, perm: str):
    user = allow(request, scope, perm)
    d = get_object_or_404(Deployment, pk=pk)
    return _accepted(response, action(deployment=d, user=user, request=request))


@router.post("/deployments/{pk}/confirm", response={202: DeploymentDetailOut, **ERRORS}, tags=["deployments"])
def deployment_confirm(request, pk: Id, response: HttpResponse):
    return _act(request, response, pk, deployment_services.deployment_confirm, TokenScope.DEPLOY,
                "deployments.add_deployment")


@router.post("/deployments/{pk}/cancel", response={202: DeploymentDetailOut, **ERRORS}, tags=["deployments"])
def deployment_cancel(request, pk: Id, response: HttpResponse):
    return _act(request, response, pk, deployment_services.deployment_cancel, TokenScope.DEPLOY,
                "deployments.change_deployment")


@router.post("/deployments/{pk}/retry", response={202: DeploymentDetailOut, **ERRORS}, tags=["deployments"],
             summary="A new run with the same parameters")
def deployment_retry(request, pk: Id, response: HttpResponse):
    return _act(request, response, pk, deployment_services.deployment_retry, TokenScope.DEPLOY,
                "deployments.add_deployment")


# --- Approvals ----------------------------------------------------------------------------------

def _approval(a: ApprovalRequest) -> dict:
    """One request (its page, a decision's answer); a list reads the same keys as rows (_approval_items)."""
    d = a.deployment
    return {"id": a.pk, "deployment": d.pk, "template": d.template, "environment": d.environment.name,
            "status": a.status, "requested_by": a.requested_by.get_username() if a.requested_by else None,
            "reason": d.reason, "required_approvals": a.required_approvals,
            "approver_group": a.approver_group.name if a.approver_group else None, "created_at": a.created_at,
            "expires_at": a.expires_at, "decided_at": a.decided_at, "outcome_note": a.outcome_note,
            "decisions": [{"user": x.user.get_username(), "decision": x.decision, "comment": x.comment, "at": x.at}
                          for x in a.decisions.all()],
            "url": api_url("approval", a.pk)}


# The columns an item shows (ApprovalOut), read as plain rows for the pending list: not the run's preview,
# parameters or secrets, nor the environment's settings. An item's key -> its column.
_APPROVAL_ITEM = {"id": "pk", "deployment": "deployment_id", "template": "deployment__template",
                  "environment": "deployment__environment__name", "status": "status",
                  "requested_by": "requested_by__username", "reason": "deployment__reason",
                  "required_approvals": "required_approvals", "approver_group": "approver_group__name",
                  "created_at": "created_at", "expires_at": "expires_at", "decided_at": "decided_at",
                  "outcome_note": "outcome_note"}


def _with_decisions(items: list[dict]) -> list[dict]:
    """Each item's decisions, read for the whole page in one query (in each request's order, as `decisions.all()`
    reads them)."""
    by_pk = {item["id"]: item for item in items}
    for request_id, user, decision, comment, at in api_selectors.decisions_of(list(by_pk)):
        by_pk[request_id]["decisions"].append({"user": user, "decision": decision, "comment": comment, "at": at})
    return items


def _approval_items(approvals=None) -> Mapped | Statement:
    """A page of approval requests as ApprovalOut dicts, the same as _approval's, in two queries: the requests'
    columns, then every decision on them. Every request, newest first, by hand-written SQL (`approvals` None);
    or the queryset `approvals`' rows."""
    url = url_of_pk("api-v1:approval")
    if approvals is None:
        def row_item(row) -> dict:
            entry = dict(zip(api_selectors.APPROVAL_COLUMNS, row))
            entry.update(decisions=[], url=url(entry["id"]))
            return entry

        return api_selectors.approval_rows(item=row_item, then=_with_decisions)

    def item(row: dict) -> dict:
        return {**{key: row[column] for key, column in _APPROVAL_ITEM.items()}, "decisions": [], "url": url(row["pk"])}

    return Mapped(approvals, item, values=tuple(_APPROVAL_ITEM.values()), then=_with_decisions)


class ApprovalFilters(Schema):
    pending: bool = Field(False, description="Only the requests the caller may decide now.")


@router.get("/approvals", response={200: list[ApprovalOut], **ERRORS}, tags=["approvals"])
@paginate(PagePagination)
def approval_list(request, filters: Query[ApprovalFilters]):
    user = allow(request, TokenScope.READ, "deployments.view_approvalrequest")
    if not filters.pending:
        return _approval_items()  # every request, newest first
    qs = deployment_selectors.approval_inbox(user=user) if user.has_perm("deployments.decide_approvalrequest") \
        else ApprovalRequest.objects.none()
    return _approval_items(qs.select_related(None))


def _get_approval(pk: int) -> ApprovalRequest:
    try:
        return deployment_selectors.approval_get(pk=pk)
    except ApprovalRequest.DoesNotExist:
        raise ProblemError(404, f"There is no approval request #{pk}.", kind="not-found")


@router.get("/approvals/{pk}", response={200: ApprovalOut, **ERRORS}, tags=["approvals"], url_name="approval")
def approval_detail(request, pk: Id):
    allow(request, TokenScope.READ, "deployments.view_approvalrequest")
    return _approval(_get_approval(pk))


def _decide(request, pk: int, decision: str, comment: str):
    user = allow(request, TokenScope.APPROVE, "deployments.decide_approvalrequest")
    approval = _get_approval(pk)
    form = DecisionForm({"decision": decision, "comment": comment})
    if not form.is_valid():
        raise ProblemError(422, "The decision has errors.", kind="validation", errors=form_errors(form))
    approval_services.approval_decide(approval=approval, user=user, decision=decision,
                                      comment=form.cleaned_data["comment"], request=request)
    return _approval(_get_approval(pk))


@router.post("/approvals/{pk}/approve", response={200: ApprovalOut, **ERRORS}, tags=["approvals"])
def approval_approve(request, pk: Id, payload: DecisionIn):
    return _decide(request, pk, "approve", payload.comment)


@router.post("/approvals/{pk}/reject", response={200: ApprovalOut, **ERRORS}, tags=["approvals"],
             summary="Reject (a comment is required)")
def approval_reject(request, pk: Id, payload: DecisionIn):
    return _decide(request, pk, "reject", payload.comment)


# --- Costs, health, RBAC ------------------------------------------------------------------------

def _rows(rows) -> list[dict]:
    return [{"name": r.key, "by_environment": dict(zip(r.labels or [], r.amounts)), "total": r.total} for r in rows]


@router.get("/costs", response={200: CostsOut, **ERRORS}, tags=["dashboards"],
            summary="A month's cost per environment, service and agent")
def costs(request, month: str = Query("", pattern=r"^(\d{4}-\d{2})?$", description="YYYY-MM; default this month")):
    allow(request, TokenScope.READ, "costs.view_costentry")
    period = cost_selectors.period_for(month, today=timezone.localdate())
    board = cost_selectors.cost_dashboard(period=period)
    return {"month": period.month,
            "environments": [{"environment": e.name, "actual": e.actual, "forecast": e.forecast, "budget": e.budget,
                              "state": e.state, "data_at": e.data_at} for e in board.environments],
            "services": _rows(board.services), "agents": _rows(board.agents)}


def _health(env: Environment) -> dict:
    board = health_selectors.health_board(environment=env)
    return {"environment": env.name, "state": board.state, "counts": board.counts, "checked_at": board.checked_at,
            "checks": [{"kind": c.kind, "target": c.target, "label": c.label, "state": c.state, "summary": c.summary,
                        "checked_at": c.checked_at, "state_since": c.state_since} for c in board.checks]}


def _env_or_404(name: str) -> Environment:
    env = Environment.objects.filter(name=name).first()
    if env is None:
        raise ProblemError(404, f"There is no environment named {name!r}.", kind="not-found")
    return env


@router.get("/health", response={200: list[HealthOut], **ERRORS}, tags=["dashboards"])
@paginate(PagePagination)
def health_list(request):
    allow(request, TokenScope.READ, "health.view_healthcheck")
    return Mapped(Environment.objects.order_by("position", "name"), _health)


@router.get("/health/{environment}", response={200: HealthOut, **ERRORS}, tags=["dashboards"])
def health_detail(request, environment: Name):
    allow(request, TokenScope.READ, "health.view_healthcheck")
    return _health(_env_or_404(environment))


def _rbac(env: Environment) -> dict:
    page = access_selectors.rbac_page(environment=env)
    audit = page.audit
    findings = page.missing + page.unexpected + page.present
    return {"environment": env.name, "audited_at": page.latest.ran_at if page.latest else None,
            "outcome": page.latest.outcome if page.latest else None,
            "could_read": bool(page.latest and page.latest.could_read),
            "error": page.latest.error if page.latest else "",
            "findings": [{"kind": f.kind, "role_name": f.role_name, "role_guid": f.role_guid, "principal": f.principal,
                          "scope": f.scope, "inherited": f.inherited} for f in findings] if audit else []}


@router.get("/rbac", response={200: list[RbacOut], **ERRORS}, tags=["dashboards"],
            summary="RBAC findings per environment (the latest audit that could read)")
@paginate(PagePagination)
def rbac_list(request):
    allow(request, TokenScope.READ, "access.view_rbacaudit")
    return Mapped(Environment.objects.order_by("position", "name"), _rbac)


@router.get("/rbac/{environment}", response={200: RbacOut, **ERRORS}, tags=["dashboards"])
def rbac_detail(request, environment: Name):
    allow(request, TokenScope.READ, "access.view_rbacaudit")
    return _rbac(_env_or_404(environment))
