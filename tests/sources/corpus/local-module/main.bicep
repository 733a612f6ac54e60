@description('The app\'s name.')
param name string

module app './modules/app.bicep' = {
  name: 'app-${name}'
  params: {
    name: name
  }
}

output planId string = app.outputs.id
