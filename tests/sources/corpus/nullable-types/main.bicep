param name string?
param count int?
param labels object?
param items string[]?

output hasName bool = !empty(name ?? '')
