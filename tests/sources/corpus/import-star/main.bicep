import * as shared from './types.bicep'

param size shared.sizeType = 'small'
param name string

output fullName string = shared.prefix(name)
