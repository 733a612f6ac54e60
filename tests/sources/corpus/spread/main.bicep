param extraTags object = {}

var baseTags = {
  owner: 'platform'
}
var allTags = {
  ...baseTags
  ...extraTags
  managedBy: 'portal'
}
var zones = [
  ...['1', '2']
  '3'
]

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-spread'
  location: 'westeurope'
  tags: allTags
}

output zoneCount int = length(zones)
