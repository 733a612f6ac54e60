"""Read the portal's templates without a Bicep compiler.

`discover_templates` lists the templates under `bicep/`, `parse_parameters` says what each one asks
for (the deployment form is built from it), `template_resources` walks what it would create (the
sandbox "deploys" that) and `load_template` bundles it all with a content hash that approvals bind
to. ARM JSON templates are read the same way.

Bicep is parsed with pycep-parser's grammar and transformer, with three fixes made here:

- Operator precedence. pycep's grammar has none and nests every operator to the right, so
  `env == 'prod' ? 'A' : 'B'` came out as `env == ('prod' ? 'A' : 'B')` and `!a && b` as
  `!(a && b)`. The grammar is patched to keep parentheses, and each operator chain is re-read with
  Bicep's precedence (`_normalize`).
- Several nested child resources in one body: pycep kept only the last one.
- A loop filter written `if (cond)`, the way the Bicep formatter writes it, did not parse.
- A lambda of two parameters (`(cur, next) => union(cur, next)`) did not parse.
- The spread operator (`{ ...base, key: value }`, `[ ...items ]`): read, and merged when evaluated.

A file that still does not parse is tried again simplified (`simplify`): declarations only the
compiler needs (types, metadata, imports, functions, asserts) blanked, and parameter types pycep does
not know (`resourceInput<...>`, unions of literals, user-defined types) replaced by the plain type.
The form itself is read by the tolerant reader (`outline`), which needs neither.

Values are evaluated best effort: parameters, variables, string interpolation, loops, conditions and
the common string, array and object functions. What only Azure knows (a resource id, `.properties`
of a deployed resource, `uniqueString()`, `deployment()`) stays unresolved: a name keeps its
`${...}`, a property becomes an ARM-style `"[expression]"` string. A name that is a `guid(...)` of
such values (role assignments: `guid(acr.id, ...)`) gets a stable stand-in GUID instead, so it stays
a valid name; Azure computes a different one. Secure parameters are never written into what this
module returns.

The package, by what each module holds: `templates` (the public functions, and the files a template
uses), `model` (what callers get), `parser` (pycep's grammar and transformer, with the fixes),
`nodes` (the expression nodes), `precedence`, `values`, `functions` (the functions and operators
evaluated), `evaluator` (evaluating a Bicep file), `parameters` (Bicep parameters) and `arm` (ARM
JSON).

Nothing here imports Django.
"""

from provisioning.bicep.model import PARAM_TYPES, BicepError, ParamSpec, TemplateInfo
from provisioning.bicep.templates import (
    discover_templates,
    effective_parameters,
    load_template,
    parse_parameters,
    template_resources,
)

__all__ = [
    "PARAM_TYPES",
    "BicepError",
    "ParamSpec",
    "TemplateInfo",
    "discover_templates",
    "effective_parameters",
    "load_template",
    "parse_parameters",
    "template_resources",
]
