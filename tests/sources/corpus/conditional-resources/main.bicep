param deploySearch bool = false
param name string

resource search 'Microsoft.Search/searchServices@2023-11-01' = if (deploySearch) {
  name: name
  location: resourceGroup().location
  sku: { name: 'basic' }
}

output searchName string = deploySearch ? search.name : ''
