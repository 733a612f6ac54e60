using 'main.bicep'

param environment = 'prod'
param replicas = 3
param tags = readEnvironmentVariable('TAGS', '{}')
