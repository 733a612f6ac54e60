"""Static files storage for production (#14): WhiteNoise's compressed, hashed files, without rewriting
`sourceMappingURL` comments. Vendored minified files (Chart.js) point at .map files we do not ship, and
the stock storage then fails `collectstatic` (so the image would not build)."""

from django.contrib.staticfiles.storage import HashedFilesMixin
from whitenoise.storage import CompressedManifestStaticFilesStorage


def _without_source_maps(patterns):
    kept = []
    for extension, rules in patterns:
        rules = tuple(rule for rule in rules if "sourceMappingURL" not in str(rule))
        if rules:
            kept.append((extension, rules))
    return tuple(kept)


class PortalStaticFilesStorage(CompressedManifestStaticFilesStorage):
    patterns = _without_source_maps(HashedFilesMixin.patterns)
