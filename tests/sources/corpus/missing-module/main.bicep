param name string

module app './modules/app.bicep' = {
  name: 'app'
  params: { name: name }
}
