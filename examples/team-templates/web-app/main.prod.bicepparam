using './main.bicep'

param appName = 'holidaypeak-web'
param sku = 'P1v3'
param instances = 3
