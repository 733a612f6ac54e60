"""#14: every Kustomize overlay renders with `kubectl kustomize` (Debian's kubectl) and every object
validates against the Kubernetes API schema, as the kubernetes client's models describe it: unknown
fields, wrong types and missing required fields are errors. The Secrets Store CSI driver's
SecretProviderClass (a CRD the client does not know) is checked against its documented fields.
Then what the issue asks of the manifests, per overlay."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").exists())
KUBECTL = shutil.which("kubectl")

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="needs Debian's kubectl (apt-get install kubectl); "
                                                        ".ci/run installs it")

PRIMITIVES = {"str": str, "int": int, "bool": bool, "float": (int, float), "object": object,
              "datetime": str, "date": str, "bytes": str}
# apiVersion/kind -> the client's model class, e.g. apps/v1 Deployment -> V1Deployment.
GROUP_VERSIONS = {"v1": "V1", "apps/v1": "V1", "batch/v1": "V1", "policy/v1": "V1", "autoscaling/v2": "V2",
                  "networking.k8s.io/v1": "V1"}


def render(directory):
    result = subprocess.run([KUBECTL, "kustomize", str(directory)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def schema_errors(value, type_name, path):
    """Errors of `value` against the client's openapi type `type_name` (recursively, strict)."""
    if type_name.startswith(("List[", "list[")):
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [e for i, item in enumerate(value) for e in schema_errors(item, type_name[5:-1], f"{path}[{i}]")]
    if type_name.startswith(("Dict[", "dict(")):
        if not isinstance(value, dict):
            return [f"{path}: expected a mapping"]
        inner = type_name[5:-1].split(", ", 1)[1]
        return [e for key, item in value.items() for e in schema_errors(item, inner, f"{path}.{key}")]
    if type_name in PRIMITIVES:
        expected = PRIMITIVES[type_name]
        if value is None or (expected is not object and (not isinstance(value, expected)
                                                          or (expected is int and isinstance(value, bool)))):
            return [f"{path}: expected {type_name}, got {value!r}"]
        return []
    model = getattr(k8s, type_name)
    if not isinstance(value, dict):
        return [f"{path}: expected a {type_name} mapping"]
    by_json = {json_name: attr for attr, json_name in model.attribute_map.items()}
    errors = [f"{path}.{key}: not a field of {type_name}" for key in value if key not in by_json]
    for key, item in value.items():
        if key in by_json:
            errors += schema_errors(item, model.openapi_types[by_json[key]], f"{path}.{key}")
    required = {model.attribute_map[name] for name, field in model.model_fields.items() if field.is_required()}
    errors += [f"{path}.{key}: required by {type_name}" for key in sorted(required - set(value))]
    return errors


def validate(obj):
    if obj.get("apiVersion") == "secrets-store.csi.x-k8s.io/v1" and obj.get("kind") == "SecretProviderClass":
        return secret_provider_class_errors(obj)
    prefix = GROUP_VERSIONS.get(obj.get("apiVersion"))
    if prefix is None:
        return [f"{obj.get('kind')}: apiVersion {obj.get('apiVersion')} is not one we validate"]
    type_name = prefix + obj["kind"]
    if not hasattr(k8s, type_name):
        return [f"{obj['kind']}: no model {type_name}"]
    return schema_errors(obj, type_name, f"{obj['kind']}/{obj['metadata'].get('name')}")


def secret_provider_class_errors(obj):
    """The CRD's fields (secrets-store.csi.x-k8s.io/v1), as the driver documents them."""
    errors = schema_errors({k: v for k, v in obj.items() if k != "spec"} | {"apiVersion": "v1", "kind": "x"},
                           "V1ConfigMap", "SecretProviderClass")  # apiVersion, kind, metadata
    spec = obj.get("spec", {})
    unknown = set(spec) - {"provider", "parameters", "secretObjects"}
    errors += [f"SecretProviderClass.spec.{key}: unknown" for key in unknown]
    if spec.get("provider") != "azure":
        errors.append("SecretProviderClass.spec.provider must be azure")
    parameters = spec.get("parameters", {})
    if not all(isinstance(v, str) for v in parameters.values()):
        errors.append("SecretProviderClass.spec.parameters: values must be strings")
    for key in ("clientID", "keyvaultName", "tenantId", "objects"):
        if not parameters.get(key):
            errors.append(f"SecretProviderClass.spec.parameters.{key} is required")
    objects = yaml.safe_load(parameters.get("objects", "array: []"))["array"]
    names = {yaml.safe_load(item)["objectName"] for item in objects}
    for secret in spec.get("secretObjects", []):
        for item in secret["data"]:
            if item["objectName"] not in names:
                errors.append(f"secretObjects maps {item['objectName']}, which is not fetched")
    return errors


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request):
    return request.param, render(K8S / "overlays" / request.param)


def test_there_are_overlays_per_environment():
    assert OVERLAYS == ["dev", "prod", "staging"]


def test_every_object_of_every_overlay_validates_against_the_api_schema(overlay):
    name, objects = overlay
    errors = [error for obj in objects for error in validate(obj)]
    assert errors == [], f"{name}: " + "\n".join(errors)


def test_the_validator_fails_unknown_fields_wrong_types_and_missing_required_ones():
    deployment = next(o for o in render(K8S / "base") if o["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["imagePullPolicyy"] = "Always"
    container["resources"]["limits"]["cpu"] = 1
    del deployment["spec"]["selector"]
    errors = "\n".join(validate(deployment))
    assert "imagePullPolicyy: not a field of V1Container" in errors
    assert "limits.cpu: expected str" in errors
    assert "spec.selector: required by V1DeploymentSpec" in errors


def by_kind(objects, kind):
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def pod_specs(objects):
    workloads = list(by_kind(objects, "Deployment").values()) + list(by_kind(objects, "Job").values())
    return {o["metadata"]["name"]: o["spec"]["template"]["spec"] for o in workloads}


def test_the_overlay_has_each_process_and_beat_is_single(overlay):
    name, objects = overlay
    deployments = by_kind(objects, "Deployment")
    assert set(deployments) == {"peak-portal-web", "peak-portal-worker", "peak-portal-deployments", "peak-portal-beat"}
    assert set(by_kind(objects, "Job")) == {"peak-portal-migrate"}
    beat = deployments["peak-portal-beat"]["spec"]
    assert beat["replicas"] == 1 and beat["strategy"] == {"type": "Recreate"}
    assert "peak-portal-beat" not in {h["spec"]["scaleTargetRef"]["name"]
                                      for h in by_kind(objects, "HorizontalPodAutoscaler").values()}
    assert {h["spec"]["scaleTargetRef"]["name"] for h in by_kind(objects, "HorizontalPodAutoscaler").values()} \
        == {"peak-portal-web", "peak-portal-worker"}
    args = {n: spec["containers"][0]["args"] for n, spec in pod_specs(objects).items()}
    assert args == {"peak-portal-web": ["web"], "peak-portal-worker": ["worker"], "peak-portal-deployments": ["worker"],
                    "peak-portal-beat": ["beat"], "peak-portal-migrate": ["migrate"]}
    # Between them the workers consume every queue the settings route to (settings.PORTAL_WORKERS).
    from django.conf import settings

    queues = {env["value"] for spec in pod_specs(objects).values() for env in spec["containers"][0].get("env", [])
              if env["name"] == "CELERY_QUEUES"}
    assert queues == {q for worker in settings.PORTAL_WORKERS.values() for q in worker["queues"]}
    assert all(o["metadata"]["namespace"] == f"peak-portal-{name}" for o in objects if o["kind"] != "Namespace")


def test_pods_run_on_the_system_pool_non_root_read_only_with_limits_and_workload_identity(overlay):
    name, objects = overlay
    account = by_kind(objects, "ServiceAccount")["peak-portal"]
    client_id = account["metadata"]["annotations"]["azure.workload.identity/client-id"]
    assert re.fullmatch(r"[0-9a-f-]{36}", client_id) and client_id != "00000000-0000-0000-0000-000000000000"
    assert account["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    templates = {o["metadata"]["name"]: o["spec"]["template"] for o in objects if o["kind"] in {"Deployment", "Job"}}
    for workload, template in templates.items():
        spec = template["spec"]
        assert template["metadata"]["labels"]["azure.workload.identity/use"] == "true", workload
        assert spec["serviceAccountName"] == "peak-portal"
        assert spec["nodeSelector"] == {"kubernetes.azure.com/mode": "system"}
        assert spec["securityContext"]["runAsNonRoot"] is True
        container = spec["containers"][0]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["image"] == f"acrholidaypeakhub.azurecr.io/peak-portal:{name}"
        assert set(container["resources"]) == {"requests", "limits"}
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert {"/var/lib/portal", "/tmp", "/mnt/secrets"} <= mounts  # writable state off the read-only root


def test_config_and_secrets_referenced_exist_and_web_has_its_probes(overlay):
    name, objects = overlay
    config_maps = by_kind(objects, "ConfigMap")
    synced = {s["secretName"] for spc in by_kind(objects, "SecretProviderClass").values()
              for s in spc["spec"]["secretObjects"]}
    for spec in pod_specs(objects).values():
        for source in spec["containers"][0]["envFrom"]:
            if "configMapRef" in source:
                assert source["configMapRef"]["name"] in config_maps  # the generator's hashed name
            else:
                assert source["secretRef"]["name"] in synced
        csi = next(v for v in spec["volumes"] if "csi" in v)["csi"]
        assert csi["volumeAttributes"]["secretProviderClass"] in by_kind(objects, "SecretProviderClass")
    web = pod_specs(objects)["peak-portal-web"]["containers"][0]
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    config = next(iter(config_maps.values()))["data"]
    probe_host = {h["name"]: h["value"] for h in web["livenessProbe"]["httpGet"]["httpHeaders"]}["Host"]
    assert probe_host in config["ALLOWED_HOSTS"].split(",")
    assert config["PORTAL_MODE"] == "production"


def test_disruption_budgets_and_network_policy_select_the_pods(overlay):
    name, objects = overlay
    pod_labels = [o["spec"]["template"]["metadata"]["labels"] for o in by_kind(objects, "Deployment").values()]

    def selects(selector):
        return [labels for labels in pod_labels if selector.items() <= labels.items()]

    for budget in by_kind(objects, "PodDisruptionBudget").values():
        assert len(selects(budget["spec"]["selector"]["matchLabels"])) == 1
    policy = by_kind(objects, "NetworkPolicy")["peak-portal"]
    assert len(selects(policy["spec"]["podSelector"]["matchLabels"])) == 4
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
