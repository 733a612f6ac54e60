"""The README's pipeline step, run as written (bash, curl, jq) against a live portal with a real Celery
worker: it requests the agent module's deployment to staging, waits for it and prints the log."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from portal.api import services
from portal.deployments.choices import DeploymentStatus as S
from portal.deployments.models import Deployment
from tests.factories import EnvironmentFactory

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
README = Path(__file__).resolve().parents[2] / "README.md"


def readme_script() -> str:
    text = README.read_text()
    block = re.search(r"<!-- pipeline-script:start -->\n```sh\n(.*?)```\n<!-- pipeline-script:end -->", text, re.S)
    assert block, "the README's pipeline script is missing"
    return block.group(1)


@pytest.fixture
def script(tmp_path):
    for tool in ("bash", "curl", "jq"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed to run the README's pipeline script")
    path = tmp_path / "deploy-agent.sh"
    path.write_text(readme_script())
    path.chmod(0o755)
    return path


def run(script, url, token, **env):
    return subprocess.run([str(script)], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "PORTAL_URL": url, "PORTAL_TOKEN": token, "POLL_SECONDS": "0.3",
                               "TIMEOUT_SECONDS": "120", **env})


def test_readme_pipeline_script_deploys_the_agent_to_staging(script, live_server, celery_worker, engineer):
    EnvironmentFactory(name="staging", approvals_required=0)
    _, token = services.token_create(user=engineer, name="pipeline", scopes=["read", "deploy"], days=1)
    result = run(script, live_server.url, token, REASON="Release 1.5 from CI")
    assert result.returncode == 0, result.stdout + result.stderr
    deployment = Deployment.objects.get()
    assert deployment.status == S.SUCCEEDED and deployment.environment.name == "staging"
    assert deployment.requested_by == engineer and deployment.reason == "Release 1.5 from CI"
    out = result.stdout
    assert f"Deployment #{deployment.pk}: {live_server.url}/deployments/{deployment.pk}/" in out
    assert f"INFO Requested by erin: agent {deployment.parameters['agentName']} to staging." in out   # names it
    assert out.rstrip().endswith("Deployment finished: succeeded")
    # Every log line printed once, in order.
    printed = [line for line in out.splitlines() if re.match(r"^\d{4}-\d\d-\d\dT", line)]
    assert len(printed) == deployment.log_lines.count()


def test_readme_pipeline_script_fails_on_a_refused_request(script, live_server, viewer):
    EnvironmentFactory(name="staging", approvals_required=0)
    _, token = services.token_create(user=viewer, name="pipeline", scopes=["read", "deploy"], days=1)
    result = run(script, live_server.url, token)
    assert result.returncode != 0
    assert result.stderr == "Peak Portal answered 403:\nYour role does not allow this.\n"
    assert not Deployment.objects.exists()


def test_readme_pipeline_script_prints_field_errors(script, live_server, engineer):
    EnvironmentFactory(name="staging", approvals_required=0)
    _, token = services.token_create(user=engineer, name="pipeline", scopes=["read", "deploy"], days=1)
    result = run(script, live_server.url, token, REDIS_DB="99")
    assert result.returncode != 0
    assert "Peak Portal answered 422:" in result.stderr
    assert "  parameters.redisDatabase: Must be at most 63 (it is 99)." in result.stderr
