param settings object = {}

var tier = settings.?sku.?tier ?? 'Basic'
var first = settings.?items[?0]
var forced = settings.name!

output tier string = tier
output forced string = forced
