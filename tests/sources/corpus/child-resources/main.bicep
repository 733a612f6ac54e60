param accountName string

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2024-05-15' = {
  name: accountName
  location: resourceGroup().location
  properties: {
    databaseAccountOfferType: 'Standard'
    locations: [{ locationName: resourceGroup().location }]
  }

  resource db 'sqlDatabases' = {
    name: 'app'
    properties: { resource: { id: 'app' } }

    resource orders 'containers' = {
      name: 'orders'
      properties: { resource: { id: 'orders', partitionKey: { paths: ['/id'] } } }
    }
  }
}

resource extra 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-05-15' = {
  parent: cosmos
  name: 'extra'
  properties: { resource: { id: 'extra' } }
}
