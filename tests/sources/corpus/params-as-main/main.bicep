using './other.bicep'

param name = 'x'
