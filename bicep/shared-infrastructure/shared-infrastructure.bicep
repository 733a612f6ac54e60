// Everything the platform shares, in the environment's resource group (main.bicep creates it).
// Names follow {projectName}-{environment}-{service}; services whose names allow no hyphens
// (ACR, Storage, Key Vault) drop them. PaaS services take no public traffic: private endpoints
// in the VNet, DNS in private zones, managed identities and RBAC instead of keys.
metadata description = 'Shared platform resources in one resource group: AKS, ACR, Cosmos DB, Event Hubs, Redis, Storage, Key Vault, API Management, VNet, private endpoints, observability and the AKS kubelet identity role assignments.'

@description('Environment: dev and staging are sized down, prod is highly available.')
@allowed([
  'dev'
  'staging'
  'prod'
])
param environment string

@description('Azure region of every resource.')
param location string = resourceGroup().location

@description('Lowercase letters only: the start of every resource name.')
@minLength(3)
@maxLength(14)
param projectName string = 'holidaypeakhub'

@description('Kubernetes version of the AKS cluster; empty for the region default.')
param kubernetesVersion string = ''

@description('Email address API Management sends its notifications to.')
param apimPublisherEmail string

@description('Publisher name API Management shows in its developer portal.')
param apimPublisherName string

@description('Days Log Analytics keeps logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 90

@description('Region the container registry is replicated to in prod.')
param acrReplicaLocation string = 'westus3'

@description('Tags for every resource.')
param tags object = {}

var isProd = environment == 'prod'
var prefix = '${projectName}-${environment}'
var compactPrefix = '${projectName}${environment}'
var nodeVmSize = isProd ? 'Standard_D4s_v5' : 'Standard_B4ms'

// Built-in role definitions granted to the AKS kubelet identity.
var roleIds = {
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d'
  eventHubsDataSender: '2b629674-e913-4c01-ae53-ef4638d8f975'
  eventHubsDataReceiver: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
}
// Cosmos DB data-plane role (not Azure RBAC): Cosmos DB Built-in Data Contributor.
var cosmosDataContributorRoleId = '00000000-0000-0000-0000-000000000002'

var subnetDefinitions = [
  {
    name: 'aks-system'
    prefix: '10.0.0.0/22'
  }
  {
    name: 'aks-agents'
    prefix: '10.0.4.0/22'
  }
  {
    name: 'aks-crud'
    prefix: '10.0.8.0/22'
  }
  {
    name: 'private-endpoints'
    prefix: '10.0.12.0/24'
  }
  {
    name: 'apim'
    prefix: '10.0.13.0/24'
  }
]

var operationalContainers = [
  {
    name: 'users'
    partitionKey: '/id'
  }
  {
    name: 'products'
    partitionKey: '/category'
  }
  {
    name: 'orders'
    partitionKey: '/userId'
  }
  {
    name: 'cart'
    partitionKey: '/userId'
  }
  {
    name: 'reviews'
    partitionKey: '/productId'
  }
  {
    name: 'addresses'
    partitionKey: '/userId'
  }
  {
    name: 'payment_methods'
    partitionKey: '/userId'
  }
  {
    name: 'tickets'
    partitionKey: '/userId'
  }
  {
    name: 'shipments'
    partitionKey: '/orderId'
  }
  {
    name: 'audit_logs'
    partitionKey: '/entityType'
  }
]

var eventHubTopics = [
  'order-events'
  'inventory-events'
  'shipment-events'
  'payment-events'
  'user-events'
]

// ---------------------------------------------------------------------------------------------
// Observability
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Networking: one VNet, five subnets, an NSG on each
// ---------------------------------------------------------------------------------------------

resource nsgs 'Microsoft.Network/networkSecurityGroups@2024-05-01' = [for subnet in subnetDefinitions: {
  name: '${prefix}-${subnet.name}-nsg'
  location: location
  tags: tags
  properties: {
    securityRules: []
  }
}]

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: '${prefix}-vnet'
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        '10.0.0.0/16'
      ]
    }
    subnets: [for (subnet, i) in subnetDefinitions: {
      name: subnet.name
      properties: {
        addressPrefix: subnet.prefix
        networkSecurityGroup: {
          id: nsgs[i].id
        }
        privateEndpointNetworkPolicies: 'Disabled'
        // API Management StandardV2 integrates with a subnet delegated to server farms.
        delegations: subnet.name == 'apim' ? [
          {
            name: 'apim-delegation'
            properties: {
              serviceName: 'Microsoft.Web/serverFarms'
            }
          }
        ] : []
      }
    }]
  }
}

var subnetIds = {
  aksSystem: resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, 'aks-system')
  aksAgents: resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, 'aks-agents')
  aksCrud: resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, 'aks-crud')
  privateEndpoints: resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, 'private-endpoints')
  apim: resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, 'apim')
}

// ---------------------------------------------------------------------------------------------
// AKS: one cluster, three node pools
// ---------------------------------------------------------------------------------------------

resource aks 'Microsoft.ContainerService/managedClusters@2024-09-01' = {
  name: '${prefix}-aks'
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  sku: {
    name: 'Base'
    tier: isProd ? 'Standard' : 'Free'
  }
  properties: {
    dnsPrefix: '${prefix}-aks'
    kubernetesVersion: empty(kubernetesVersion) ? null : kubernetesVersion
    enableRBAC: true
    disableLocalAccounts: true
    aadProfile: {
      managed: true
      enableAzureRBAC: true
    }
    oidcIssuerProfile: {
      enabled: true
    }
    securityProfile: {
      workloadIdentity: {
        enabled: true
      }
    }
    workloadAutoScalerProfile: {
      keda: {
        enabled: true
      }
    }
    networkProfile: {
      networkPlugin: 'azure'
      networkPluginMode: 'overlay'
      networkPolicy: 'cilium'
      networkDataplane: 'cilium'
      podCidr: '192.168.0.0/16'
      serviceCidr: '172.16.0.0/16'
      dnsServiceIP: '172.16.0.10'
      loadBalancerSku: 'standard'
    }
    agentPoolProfiles: [
      {
        name: 'system'
        mode: 'System'
        vmSize: nodeVmSize
        osType: 'Linux'
        osSKU: 'AzureLinux'
        enableAutoScaling: true
        count: 1
        minCount: 1
        maxCount: 5
        vnetSubnetID: subnetIds.aksSystem
      }
      {
        name: 'agents'
        mode: 'User'
        vmSize: nodeVmSize
        osType: 'Linux'
        osSKU: 'AzureLinux'
        enableAutoScaling: true
        count: 2
        minCount: 2
        maxCount: 20
        nodeLabels: {
          workload: 'agents'
        }
        nodeTaints: [
          'workload=agents:NoSchedule'
        ]
        vnetSubnetID: subnetIds.aksAgents
      }
      {
        name: 'crud'
        mode: 'User'
        vmSize: nodeVmSize
        osType: 'Linux'
        osSKU: 'AzureLinux'
        enableAutoScaling: true
        count: 1
        minCount: 1
        maxCount: 10
        nodeLabels: {
          workload: 'crud'
        }
        nodeTaints: [
          'workload=crud:NoSchedule'
        ]
        vnetSubnetID: subnetIds.aksCrud
      }
    ]
    addonProfiles: {
      omsagent: {
        enabled: true
        config: {
          logAnalyticsWorkspaceResourceID: logAnalytics.id
        }
      }
      azureKeyvaultSecretsProvider: {
        enabled: true
      }
    }
  }
}

var kubeletPrincipalId = aks.properties.identityProfile.kubeletidentity.objectId

// ---------------------------------------------------------------------------------------------
// Container registry
// ---------------------------------------------------------------------------------------------

resource acr 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  name: '${compactPrefix}acr'
  location: location
  tags: tags
  sku: {
    name: 'Premium'
  }
  properties: {
    adminUserEnabled: false
    publicNetworkAccess: 'Disabled'
    networkRuleBypassOptions: 'AzureServices'
    zoneRedundancy: isProd ? 'Enabled' : 'Disabled'
  }
}

resource acrReplica 'Microsoft.ContainerRegistry/registries/replications@2023-07-01' = if (isProd) {
  parent: acr
  name: acrReplicaLocation
  location: acrReplicaLocation
  tags: tags
  properties: {
    zoneRedundancy: 'Enabled'
  }
}

// ---------------------------------------------------------------------------------------------
// Cosmos DB: one account, one database, the operational containers
// ---------------------------------------------------------------------------------------------

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  name: '${prefix}-cosmos'
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: isProd
      }
    ]
    // Serverless outside prod; prod is provisioned (autoscale on the database).
    capabilities: isProd ? [] : [
      {
        name: 'EnableServerless'
      }
    ]
    backupPolicy: {
      type: 'Continuous'
      continuousModeProperties: {
        tier: 'Continuous30Days'
      }
    }
    disableLocalAuth: true
    publicNetworkAccess: 'Disabled'
    minimalTlsVersion: 'Tls12'
  }
}

resource cosmosDatabase 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: cosmos
  name: projectName
  properties: {
    resource: {
      id: projectName
    }
    options: isProd ? {
      autoscaleSettings: {
        maxThroughput: 10000
      }
    } : {}
  }
}

resource cosmosContainers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = [for container in operationalContainers: {
  parent: cosmosDatabase
  name: container.name
  properties: {
    resource: {
      id: container.name
      partitionKey: {
        paths: [
          container.partitionKey
        ]
        kind: 'Hash'
        version: 2
      }
    }
  }
}]

// ---------------------------------------------------------------------------------------------
// Event Hubs: one namespace, one hub per topic
// ---------------------------------------------------------------------------------------------

resource eventHubNamespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: '${prefix}-eventhubs'
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: isProd ? 2 : 1
  }
  properties: {
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Disabled'
    disableLocalAuth: true
    isAutoInflateEnabled: isProd
    maximumThroughputUnits: isProd ? 10 : 0
  }
}

resource eventHubs 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = [for topic in eventHubTopics: {
  parent: eventHubNamespace
  name: topic
  properties: {
    partitionCount: isProd ? 8 : 2
    messageRetentionInDays: 7
  }
}]

// ---------------------------------------------------------------------------------------------
// Redis: Premium P1 (6 GB); database 0 for the CRUD service, one database per agent
// ---------------------------------------------------------------------------------------------

resource redis 'Microsoft.Cache/redis@2024-03-01' = {
  name: '${prefix}-redis'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'Premium'
      family: 'P'
      capacity: 1
    }
    enableNonSslPort: false
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Disabled'
    redisConfiguration: {
      'aad-enabled': 'true'
      'maxmemory-policy': 'allkeys-lru'
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Storage: blobs for the agents' cold memory
// ---------------------------------------------------------------------------------------------

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: '${compactPrefix}st'
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: isProd ? 'Standard_GRS' : 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Disabled'
    networkAcls: {
      defaultAction: 'Deny'
      bypass: 'AzureServices'
    }
  }

  resource blobService 'blobServices' = {
    name: 'default'
    properties: {
      deleteRetentionPolicy: {
        enabled: true
        days: 90
      }
      containerDeleteRetentionPolicy: {
        enabled: true
        days: 90
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Key Vault: RBAC, soft delete, purge protection
// ---------------------------------------------------------------------------------------------

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: '${compactPrefix}kv'
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'premium'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Disabled'
    networkAcls: {
      defaultAction: 'Deny'
      bypass: 'AzureServices'
    }
  }
}

// ---------------------------------------------------------------------------------------------
// API Management: Consumption in dev and staging, StandardV2 with VNet integration in prod
// ---------------------------------------------------------------------------------------------

resource apim 'Microsoft.ApiManagement/service@2024-05-01' = {
  name: '${prefix}-apim'
  location: location
  tags: tags
  sku: {
    name: isProd ? 'StandardV2' : 'Consumption'
    capacity: isProd ? 1 : 0
  }
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    publisherEmail: apimPublisherEmail
    publisherName: apimPublisherName
    virtualNetworkType: isProd ? 'External' : 'None'
    virtualNetworkConfiguration: isProd ? {
      subnetResourceId: subnetIds.apim
    } : null
  }
}

// ---------------------------------------------------------------------------------------------
// Private endpoints and their DNS zones
// ---------------------------------------------------------------------------------------------

var privateLinks = [
  {
    name: 'acr'
    serviceId: acr.id
    groupId: 'registry'
    zone: 'privatelink.azurecr.io'
  }
  {
    name: 'cosmos'
    serviceId: cosmos.id
    groupId: 'Sql'
    zone: 'privatelink.documents.azure.com'
  }
  {
    name: 'eventhubs'
    serviceId: eventHubNamespace.id
    groupId: 'namespace'
    zone: 'privatelink.servicebus.windows.net'
  }
  {
    name: 'redis'
    serviceId: redis.id
    groupId: 'redisCache'
    zone: 'privatelink.redis.cache.windows.net'
  }
  {
    name: 'blob'
    serviceId: storage.id
    groupId: 'blob'
    zone: 'privatelink.blob.core.windows.net'
  }
  {
    name: 'keyvault'
    serviceId: keyVault.id
    groupId: 'vault'
    zone: 'privatelink.vaultcore.azure.net'
  }
]

resource privateDnsZones 'Microsoft.Network/privateDnsZones@2020-06-01' = [for link in privateLinks: {
  name: link.zone
  location: 'global'
  tags: tags
}]

resource privateDnsZoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = [for (link, i) in privateLinks: {
  parent: privateDnsZones[i]
  name: '${prefix}-vnet-link'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnet.id
    }
  }
}]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2024-05-01' = [for link in privateLinks: {
  name: '${prefix}-${link.name}-pe'
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetIds.privateEndpoints
    }
    privateLinkServiceConnections: [
      {
        name: '${prefix}-${link.name}-connection'
        properties: {
          privateLinkServiceId: link.serviceId
          groupIds: [
            link.groupId
          ]
        }
      }
    ]
  }
}]

resource privateDnsZoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [for (link, i) in privateLinks: {
  parent: privateEndpoints[i]
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: link.name
        properties: {
          privateDnsZoneId: privateDnsZones[i].id
        }
      }
    ]
  }
}]

// ---------------------------------------------------------------------------------------------
// Passwordless access for the workloads: role assignments of the AKS kubelet identity
// ---------------------------------------------------------------------------------------------

resource acrPullAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(acr.id, aks.id, roleIds.acrPull)
  scope: acr
  properties: {
    principalId: kubeletPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.acrPull)
  }
}

resource eventHubsSenderAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(eventHubNamespace.id, aks.id, roleIds.eventHubsDataSender)
  scope: eventHubNamespace
  properties: {
    principalId: kubeletPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.eventHubsDataSender)
  }
}

resource eventHubsReceiverAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(eventHubNamespace.id, aks.id, roleIds.eventHubsDataReceiver)
  scope: eventHubNamespace
  properties: {
    principalId: kubeletPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.eventHubsDataReceiver)
  }
}

resource keyVaultSecretsAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, aks.id, roleIds.keyVaultSecretsUser)
  scope: keyVault
  properties: {
    principalId: kubeletPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.keyVaultSecretsUser)
  }
}

resource storageBlobAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, aks.id, roleIds.storageBlobDataContributor)
  scope: storage
  properties: {
    principalId: kubeletPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageBlobDataContributor)
  }
}

// Cosmos DB data access is a data-plane role assignment on the account, not Azure RBAC.
resource cosmosDataAssignment 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: cosmos
  name: guid(cosmos.id, aks.id, cosmosDataContributorRoleId)
  properties: {
    principalId: kubeletPrincipalId
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDataContributorRoleId}'
    scope: cosmos.id
  }
}

output aksClusterName string = aks.name
output aksKubeletPrincipalId string = kubeletPrincipalId
output acrLoginServer string = acr.properties.loginServer
output cosmosAccountName string = cosmos.name
output cosmosDatabaseName string = cosmosDatabase.name
output eventHubNamespaceName string = eventHubNamespace.name
output redisHostName string = redis.properties.hostName
output storageAccountName string = storage.name
output keyVaultName string = keyVault.name
output apimGatewayUrl string = apim.properties.gatewayUrl
output appInsightsConnectionString string = appInsights.properties.ConnectionString
