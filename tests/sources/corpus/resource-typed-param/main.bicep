@description('The Key Vault to read from.')
param kv resource 'Microsoft.KeyVault/vaults@2023-07-01'

output vaultUri string = kv.properties.vaultUri
