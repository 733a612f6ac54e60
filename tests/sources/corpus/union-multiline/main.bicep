@description('Identity type.')
type identityType =
  | 'SystemAssigned'
  | 'UserAssigned'
  | 'None'

param identity identityType = 'None'

output identity string = identity
