using './main.bicep'

param appName = 'holidaypeak-web-dev'
param sku = 'B1'
param instances = 1
