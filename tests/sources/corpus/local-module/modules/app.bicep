param name string
resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: name
  location: resourceGroup().location
  sku: { name: 'B1' }
}
output id string = plan.id
