@description('Tags of the virtual network.')
param tags resourceInput<'Microsoft.Network/virtualNetworks@2024-05-01'>.properties.tags?

param subnets resourceInput<'Microsoft.Network/virtualNetworks@2024-05-01'>.properties.subnets = []

param addressSpace resourceOutput<'Microsoft.Network/virtualNetworks@2024-05-01'>.properties.addressSpace?

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: 'vnet'
  location: resourceGroup().location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: ['10.0.0.0/16'] }
    subnets: subnets
  }
}
