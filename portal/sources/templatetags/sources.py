import json
from urllib.parse import urlencode

from django import template
from django.urls import reverse

register = template.Library()


@register.simple_tag
def parameter_set_links(info, environment):
    """(name, url) per named parameter set (.bicepparam) of a template: the new-deployment form,
    filled with that set's values."""
    links = []
    for name, values in getattr(info, "parameter_sets", ()):
        query = {"template": info.name, "environment": environment.name}
        for key, value in values:
            if isinstance(value, bool):
                query[f"p_{key}"] = "on" if value else ""
            elif isinstance(value, (dict, list)):
                query[f"p_{key}"] = json.dumps(value)
            else:
                query[f"p_{key}"] = str(value)
        links.append((name, f"{reverse('deployments:new')}?{urlencode(query)}"))
    return links


@register.simple_tag
def commit_url(source_name, commit):
    """A link to the commit a run was read from, where the source's host is known ("" otherwise)."""
    from portal.sources.models import TemplateSource

    source = TemplateSource.objects.filter(name=source_name).first() if source_name and commit else None
    return source.commit_url(commit) if source else ""
