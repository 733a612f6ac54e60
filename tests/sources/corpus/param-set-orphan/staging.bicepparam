using './missing.bicep'

param name = 'x'
