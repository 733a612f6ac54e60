using './main.bicep'

param environment = 'dev'
param replicas = 1
param tags = {
  costCenter: 'dev-42'
}
