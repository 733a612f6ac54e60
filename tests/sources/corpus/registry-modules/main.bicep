param name string

module vnet 'br/public:avm/res/network/virtual-network:0.5.1' = {
  name: 'vnet'
  params: {
    name: name
    addressPrefixes: ['10.0.0.0/16']
  }
}

module spec 'ts:00000000-0000-0000-0000-000000000000/rg-specs/storageSpec:2.0' = {
  name: 'spec'
  params: {
    name: name
  }
}

module alias 'br:contoso.azurecr.io/bicep/modules/redis:1.0' = {
  name: 'redis'
}
