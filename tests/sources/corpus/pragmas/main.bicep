#disable-next-line no-unused-params
param unused string = 'x'

#disable-diagnostics no-hardcoded-location
param location string = 'westeurope'

output location string = location
