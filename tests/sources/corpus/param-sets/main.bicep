@allowed(['dev', 'prod'])
param environment string
param replicas int = 1
param tags object = {}

output env string = environment
