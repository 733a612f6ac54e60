param vaultName string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

output vault resource 'Microsoft.KeyVault/vaults@2023-07-01' = vault
