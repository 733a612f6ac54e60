param items array = []

var enabled = filter(items, item => item.enabled)
var merged = reduce(items, {}, (cur, next) => union(cur, next))
var names = map(items, (item, i) => '${i}:${item.name}')
var sorted = sort(items, (a, b) => a.name < b.name)

output count int = length(enabled)
output merged object = merged
output names array = names
output first object = first(sorted)
