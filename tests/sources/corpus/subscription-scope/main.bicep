targetScope = 'subscription'

param location string = 'westeurope'
param rgName string

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: rgName
  location: location
}
