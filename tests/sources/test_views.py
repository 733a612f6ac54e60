"""Every page answers 200 with the whole corpus (tests/sources/corpus) as the catalog: the files that
cannot be read are listed with their errors and nothing else changes."""

from pathlib import Path

import pytest
from django.urls import reverse

from portal.sources.models import TemplateFile
from portal.sources.services import builtin_source, source_sync

CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture
def corpus_catalog(settings, platform):
    settings.PORTAL_BICEP_ROOT = CORPUS
    source_sync(source_id=builtin_source().pk)
    return TemplateFile.objects.all()


def test_a_sync_of_the_corpus_stores_each_file_with_its_form_or_error(corpus_catalog):
    files = {f.name: f for f in corpus_catalog}
    offered = [f for f in files.values() if f.offered]
    failing = [f for f in files.values() if f.status == "error"]
    assert len(offered) == 35
    assert {f.name for f in failing} == {
        "empty", "comments-only", "params-as-main", "types-only", "syntax-unclosed-brace", "syntax-unclosed-string",
        "syntax-dangling-operator", "not-a-declaration", "missing-module", "arm-invalid-json-azuredeploy",
        "param-set-using-none:shared", "param-set-orphan:staging", "syntax-property-without-value", "syntax-bad-escape"}
    assert files["syntax-unclosed-brace"].where == "syntax-unclosed-brace/main.bicep:3:62"
    assert "not a template in this source" in files["param-set-orphan:staging"].error
    assert files["param-sets"].parameter_sets == {
        "dev": {"environment": "dev", "replicas": 1, "tags": {"costCenter": "dev-42"}},
        "prod": {"environment": "prod", "replicas": 3}}
    assert files["arm-with-parameters"].parameter_sets == {"default": {"rgName": "rg-from-parameters"}}


def test_every_page_answers_200_with_the_whole_corpus_in_the_catalog(corpus_catalog, client_for, platform_admin):
    client = client_for(platform_admin)
    offered = [f.name for f in corpus_catalog if f.offered]
    urls = [reverse("home"), reverse("system"), reverse("deployments:list"), reverse("deployments:new"),
            reverse("sources:list"), reverse("sources:list") + "?status=error", reverse("sources:list") + "?status=ok",
            reverse("sources:new")]
    urls += [f"{reverse('deployments:new')}?template={name}&environment=dev" for name in offered]
    statuses = {url: client.get(url).status_code for url in urls}
    assert {url: code for url, code in statuses.items() if code != 200} == {}


def test_the_new_deployment_form_offers_only_templates_that_read(corpus_catalog, client_for, engineer):
    html = client_for(engineer).get(reverse("deployments:new")).content.decode()
    assert 'value="basic-params"' in html
    assert 'value="syntax-unclosed-brace"' not in html
    assert 'value="empty"' not in html
    response = client_for(engineer).get(reverse("deployments:new") + "?template=empty&environment=dev")
    assert response.status_code == 400


def test_an_empty_template_cannot_be_deployed(corpus_catalog, engineer):
    from portal.core.errors import DomainError
    from portal.deployments.services import deployment_request

    with pytest.raises(DomainError, match="no template named 'empty'"):
        deployment_request(environment=platform_env(), template="empty", parameters={}, user=engineer)


def platform_env():
    from portal.catalog.models import Environment

    return Environment.objects.get(name="dev")


def test_the_sources_page_lists_each_failing_file_with_where_and_why(corpus_catalog, client_for, viewer):
    html = client_for(viewer).get(reverse("sources:list") + "?status=error").content.decode()
    assert "builtin:syntax-unclosed-brace/main.bicep:3:62" in html
    assert "the file is empty" in html
    assert "Sync now" not in html           # a viewer cannot sync


def test_the_system_page_counts_the_files_that_cannot_be_offered(corpus_catalog, client_for, viewer):
    html = client_for(viewer).get(reverse("system")).content.decode()
    assert "14 files cannot be offered" in html


def test_a_parameter_set_fills_the_form(corpus_catalog, client_for, engineer):
    client = client_for(engineer)
    html = client.get(reverse("deployments:new") + "?template=param-sets&environment=dev").content.decode()
    assert 'data-testid="parameter-set">dev</a>' in html
    html = client.get(reverse("deployments:new") + "?template=param-sets&environment=dev&p_replicas=3"
                      "&p_environment=prod").content.decode()
    assert 'value="3"' in html


def test_one_bad_file_does_not_take_the_catalog_down(settings, tmp_path, platform, client_for, engineer):
    import shutil

    shutil.copytree(settings.PORTAL_BICEP_ROOT, tmp_path / "bicep")
    (tmp_path / "bicep" / "broken").mkdir()
    (tmp_path / "bicep" / "broken" / "main.bicep").write_text("param a string = 'x\n")
    settings.PORTAL_BICEP_ROOT = tmp_path / "bicep"
    source_sync(source_id=builtin_source().pk)
    client = client_for(engineer)
    assert client.get(reverse("deployments:new")).status_code == 200
    assert client.get(reverse("deployments:new") + "?template=agent&environment=dev").status_code == 200
    assert client.get(reverse("system")).status_code == 200
    broken = TemplateFile.objects.get(name="broken")
    assert (broken.status, broken.line, broken.column) == ("error", 1, 18)


def test_the_sources_page_s_query_count_does_not_grow_with_the_files(settings, platform, client_for, viewer,
                                                                      tmp_path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(viewer)
    (tmp_path / "one" / "a").mkdir(parents=True)
    (tmp_path / "one" / "a" / "main.bicep").write_text("param a string\n")
    counts = []
    for root in (tmp_path / "one", CORPUS):
        settings.PORTAL_BICEP_ROOT = root
        source_sync(source_id=builtin_source().pk)
        client.get(reverse("sources:list"))          # warm the session and the built-in source row
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("sources:list")).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert TemplateFile.objects.count() > 40
