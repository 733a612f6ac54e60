@secure()
@description('The administrator password.')
param adminPassword string

@secure()
param connection object

param adminUser string = 'azureuser'

output user string = adminUser
