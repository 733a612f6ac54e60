"""The API's request and response shapes (pydantic, through django-ninja), and the JSON Schema of a
template's parameters."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator

from ninja import Schema

# Text from a client: bounded, and never a NUL character (PostgreSQL refuses them).
NO_NUL = r"^[^\x00]*$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_NUL)]
Text = Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL)]
Id = Annotated[int, Field(ge=1, le=2_147_483_647)]


class Out(BaseModel):
    """A response shape. The operations build their answers as plain dicts, so these are plain pydantic models:
    ninja's Schema would wrap every item of a list in a DjangoGetter to read ORM objects and resolvers, which
    was most of a 50-item page's time (issue #11). The JSON and the OpenAPI document are the same."""


class FieldError(Schema):
    field: str = Field(description="The field, e.g. `parameters.agentName`; `non_field` for the whole request.")
    message: str = Field(description="What is wrong, in the words the form shows in the browser.")


class Problem(Schema):
    """RFC 9457 problem details (served as application/problem+json)."""

    type: str = Field(description="A tag URI naming the kind of problem, or about:blank.")
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldError] | None = Field(None, description="Field errors, when the request has them.")


class NodePoolOut(Out):
    name: str
    vm_size: str
    min_nodes: int
    max_nodes: int
    taints: list[str]


class EnvironmentOut(Out):
    name: str
    tier: str
    region: str
    resource_group: str
    aks_cluster: str
    redis_sku: str
    redis_database_limit: int
    monthly_budget: Decimal
    approvals_required: int
    needs_approval: bool
    url: str


class EnvironmentDetailOut(EnvironmentOut):
    node_pools: list[NodePoolOut]
    cosmos_containers: list[str]
    event_hub_topics: list[str]


class PlacementOut(Out):
    id: int
    agent: str
    environment: str
    status: str
    status_detail: str
    redis_db: int | None
    redis_key_prefix: str
    cosmos_container: str
    blob_container: str
    image_tag: str
    replicas: int


class AgentOut(Out):
    slug: str
    display_name: str
    domain: str
    owner_team: str
    image: str
    url: str
    placements: list[PlacementOut]


class TemplateOut(Out):
    name: str
    description: str
    content_hash: str
    url: str


class TemplateDetailOut(TemplateOut):
    parameters_schema: dict[str, Any] = Field(description="JSON Schema (2020-12) of the template's parameters.")


class DeploymentRequestIn(Schema):
    model_config = {"json_schema_extra": {"examples": [{
        "environment": "dev", "template": "agent", "reason": "Release 1.5 of catalog search", "confirm": True,
        "parameters": {"agentName": "ecommerce-catalog-search", "redisDatabase": 3}}]}}

    environment: Name
    template: Name
    parameters: dict[str, Any] = Field(default_factory=dict, description="Parameter values by name; secure "
                                       "ones are kept encrypted and never shown back.")
    reason: Annotated[str, StringConstraints(max_length=500, pattern=NO_NUL)] = ""
    confirm: bool = Field(False, description="Go on after the preview without a separate confirm call "
                                             "(to approval where the environment needs one).")

    @field_validator("parameters")
    @classmethod
    def no_nul_characters(cls, value):
        """PostgreSQL stores no NUL character, in text or in JSON: refuse them here, as a field error."""
        def walk(item):
            if isinstance(item, str):
                return "\x00" not in item
            if isinstance(item, dict):
                return all(walk(k) and walk(v) for k, v in item.items())
            if isinstance(item, list):
                return all(walk(v) for v in item)
            return True

        if not walk(value):
            raise ValueError("Must not contain NUL characters.")
        return value


class OperationOut(Out):
    resource_type: str
    resource_name: str
    state: str
    status_code: str


class DeploymentOut(Out):
    id: int
    kind: str
    template: str
    environment: str
    status: str
    finished: bool
    reason: str
    requested_by: str | None
    agent: str | None
    retry_of: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    parameters: dict[str, Any]
    secure_parameter_names: list[str]
    error: dict[str, Any] | None
    approval: int | None
    can_cancel: bool
    url: str
    log_url: str
    web_url: str


class DeploymentDetailOut(DeploymentOut):
    preview: dict[str, Any] | None = Field(description="The what-if: changes by type, once previewed.")
    operations: list[OperationOut]


class LogLineOut(Out):
    seq: int
    level: str
    message: str
    at: datetime


class LogOut(Out):
    deployment: int
    status: str
    finished: bool
    after: int = Field(description="Ask again with ?after=this for the lines that follow.")
    lines: list[LogLineOut]


class DecisionOut(Out):
    user: str
    decision: str
    comment: str
    at: datetime


class ApprovalOut(Out):
    id: int
    deployment: int
    template: str
    environment: str
    status: str
    requested_by: str | None
    reason: str
    required_approvals: int
    approver_group: str | None
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    outcome_note: str
    decisions: list[DecisionOut]
    url: str


class DecisionIn(Schema):
    comment: Text = ""


class CostEnvironmentOut(Out):
    environment: str
    actual: Decimal
    forecast: Decimal | None
    budget: Decimal
    state: str
    data_at: datetime | None


class CostRowOut(Out):
    name: str
    by_environment: dict[str, Decimal]
    total: Decimal


class CostsOut(Out):
    month: date
    environments: list[CostEnvironmentOut]
    services: list[CostRowOut]
    agents: list[CostRowOut]


class HealthCheckOut(Out):
    kind: str
    target: str
    label: str
    state: str
    summary: str
    checked_at: datetime | None
    state_since: datetime | None


class HealthOut(Out):
    environment: str
    state: str | None
    counts: dict[str, int]
    checked_at: datetime | None
    checks: list[HealthCheckOut]


class RbacFindingOut(Out):
    kind: str
    role_name: str
    role_guid: str
    principal: str
    scope: str
    inherited: bool


class RbacOut(Out):
    environment: str
    audited_at: datetime | None
    outcome: str | None
    could_read: bool
    error: str
    findings: list[RbacFindingOut]


class TokenOut(Out):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked: bool


class MeOut(Out):
    username: str
    name: str
    email: str
    roles: list[str]
    scopes: list[str]
    via: Literal["token", "entra"]


# --- A template's parameters as JSON Schema ------------------------------------------------------

_TYPES = {"string": "string", "int": "integer", "bool": "boolean", "object": "object", "array": "array"}


def parameters_json_schema(specs) -> dict:
    properties, required = {}, []
    for spec in specs:
        prop: dict[str, Any] = {"type": _TYPES.get(spec.type, "string")}
        if spec.description:
            prop["description"] = spec.description
        if spec.allowed:
            prop["enum"] = list(spec.allowed)
        if spec.type == "int":
            if spec.min_value is not None:
                prop["minimum"] = spec.min_value
            if spec.max_value is not None:
                prop["maximum"] = spec.max_value
        elif spec.type in ("object", "array"):
            key = "Properties" if spec.type == "object" else "Items"
            if spec.min_length is not None:
                prop[f"min{key}"] = spec.min_length
            if spec.max_length is not None:
                prop[f"max{key}"] = spec.max_length
        else:
            if spec.min_length is not None:
                prop["minLength"] = spec.min_length
            if spec.max_length is not None:
                prop["maxLength"] = spec.max_length
        if spec.secure:
            prop["writeOnly"] = True
            prop["format"] = "password"
        elif spec.default is not None:
            prop["default"] = spec.default
        if spec.default_expression is not None and not spec.secure:
            prop["x-default-expression"] = spec.default_expression
        properties[spec.name] = prop
        if spec.required:
            required.append(spec.name)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
            "properties": properties, "required": required, "additionalProperties": False}
