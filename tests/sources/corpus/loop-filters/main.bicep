param containers array = [
  { name: 'orders', enabled: true }
  { name: 'cart', enabled: false }
]

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: 'peakstore'
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for c in containers: if (c.enabled) {
  name: 'peakstore/default/${c.name}'
}]

output names array = [for (c, i) in containers: '${i}-${c.name}']
