// Peak Portal's resources in its resource group (see main.bicep).
targetScope = 'resourceGroup'

@description('The portal installation: dev, staging or prod.')
param environment string
@description('Azure region of every resource.')
param location string
@description('Start of every resource name, e.g. peakportal-prod.')
param prefix string
@description('OIDC issuer URL of the AKS cluster the portal runs on.')
param aksOidcIssuerUrl string
@description('The federated subject: system:serviceaccount:<namespace>:<service account>.')
param federatedSubject string
@description('PostgreSQL compute SKU.')
param postgresSku string
@description('PostgreSQL storage in GiB.')
param postgresStorageGb int
@description('Administrator login of the PostgreSQL server.')
param postgresAdminLogin string
@description('Administrator password of the PostgreSQL server.')
@secure()
param postgresAdminPassword string
@description('Django SECRET_KEY, stored in Key Vault.')
@secure()
param secretKey string
@description('Days Log Analytics keeps data.')
param logRetentionDays int
@description('Tags of every resource.')
param tags object

var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var vaultName = take('${replace(prefix, '-', '')}kv${take(uniqueString(resourceGroup().id), 6)}', 24)

// The identity the portal's pods run as (the service account's azure.workload.identity/client-id).
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${prefix}-identity'
  location: location
  tags: tags
}

resource federation 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2023-01-31' = {
  parent: identity
  name: 'aks-${environment}'
  properties: {
    issuer: aksOidcIssuerUrl
    subject: federatedSubject
    audiences: [
      'api://AzureADTokenExchange'
    ]
  }
}

resource postgres 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: '${prefix}-pg'
  location: location
  tags: tags
  sku: {
    name: postgresSku
    tier: startsWith(postgresSku, 'Standard_B') ? 'Burstable' : 'GeneralPurpose'
  }
  properties: {
    version: '16'
    administratorLogin: postgresAdminLogin
    administratorLoginPassword: postgresAdminPassword
    storage: {
      storageSizeGB: postgresStorageGb
      autoGrow: 'Enabled'
    }
    backup: {
      backupRetentionDays: environment == 'prod' ? 35 : 7
      geoRedundantBackup: environment == 'prod' ? 'Enabled' : 'Disabled'
    }
    highAvailability: {
      mode: environment == 'prod' ? 'ZoneRedundant' : 'Disabled'
    }
  }
}

resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2024-08-01' = {
  parent: postgres
  name: 'peakportal'
  properties: {
    charset: 'UTF8'
    collation: 'en_US.utf8'
  }
}

// The Celery broker: Standard (primary + replica), TLS only.
resource redis 'Microsoft.Cache/redis@2024-03-01' = {
  name: '${prefix}-redis'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'Standard'
      family: 'C'
      capacity: 1
    }
    enableNonSslPort: false
    minimumTlsVersion: '1.2'
    redisConfiguration: {
      'maxmemory-policy': 'noeviction'
    }
  }
}

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${prefix}-logs'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${prefix}-appinsights'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: vaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    enablePurgeProtection: true
  }
}

// The secrets the SecretProviderClass (deploy/k8s/base/secretproviderclass.yaml) reads.
resource secretKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'portal-secret-key'
  properties: {
    value: secretKey
  }
}

resource databaseUrlSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'portal-database-url'
  properties: {
    value: 'postgres://${postgresAdminLogin}:${uriComponent(postgresAdminPassword)}@${postgres.properties.fullyQualifiedDomainName}:5432/peakportal?sslmode=require'
  }
}

resource brokerUrlSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'portal-broker-url'
  properties: {
    value: 'rediss://:${uriComponent(redis.listKeys().primaryKey)}@${redis.properties.hostName}:6380/0?ssl_cert_reqs=required'
  }
}

resource appInsightsSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'portal-appinsights-connection-string'
  properties: {
    value: appInsights.properties.ConnectionString
  }
}

// The portal reads its own secrets (Secrets Store CSI driver, with the workload identity), nothing more.
resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
  }
}

output identityClientId string = identity.properties.clientId
output identityPrincipalId string = identity.properties.principalId
output keyVaultName string = vault.name
output postgresHost string = postgres.properties.fullyQualifiedDomainName
