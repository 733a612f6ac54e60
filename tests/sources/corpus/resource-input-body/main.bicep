@description('The whole body of a resource, as its type says.')
param body resourceInput<'Microsoft.Storage/storageAccounts@2023-05-01'>

param name string

resource sa 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  ...body
  name: name
}
