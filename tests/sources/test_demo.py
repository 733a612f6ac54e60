from pathlib import Path

from django.conf import settings

from portal.sources.demo import demo_sources_load
from portal.sources.models import TemplateFile


def test_the_demo_git_source_is_made_from_the_example_folder_and_synced(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.PORTAL_SOURCES_DIR = tmp_path / "sources"
    source = demo_sources_load()
    assert source.last_error == "" and len(source.commit) == 40
    files = {f.name: f for f in TemplateFile.objects.filter(source=source)}
    assert files["platform-team/web-app"].offered
    assert files["platform-team/web-app"].parameter_sets["prod"] == {"appName": "holidaypeak-web", "sku": "P1v3",
                                                                     "instances": 3}
    monitoring = files["platform-team/monitoring"]
    assert monitoring.offered
    assert [p["name"] for p in monitoring.parameters] == ["retentionDays", "alerts", "tags"]
    assert monitoring.parameters[0]["allowed"] == [30, 60, 90]
    assert monitoring.registry_modules == ["br/public:avm/res/insights/action-group:0.4.0"]
    assert "the file is empty" in files["platform-team/drafts"].error

    again = demo_sources_load()                     # nothing changed: no new commit
    assert again.commit == source.commit


def test_the_example_folder_is_in_the_project():
    assert (Path(settings.BASE_DIR) / "examples" / "team-templates" / "web-app" / "main.bicep").is_file()
