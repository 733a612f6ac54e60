// The portal identity's roles on one environment subscription: least privilege for what the portal does.
//   Contributor                       deploys the catalog's templates (subscription-scope deployments that
//                                     create resource groups and resources) and reads Resource Health.
//   Role Based Access Control Admin.  only to grant and remove the five data roles the templates assign
//                                     (AcrPull, Event Hubs Data Sender/Receiver, Storage Blob Data
//                                     Contributor, Key Vault Secrets User): an ABAC condition forbids
//                                     every other role, so the identity can never make itself Owner.
//   Cost Management Reader            reads costs and forecasts for the cost pages.
//   AKS Cluster User Role             gets the clusters' user kubeconfig for health checks and workloads
//                                     (what it may do inside is Kubernetes RBAC on the agents' namespaces).
// Not granted: Owner, User Access Administrator, Key Vault data roles on the platform's vaults.
targetScope = 'subscription'

@description('Object ID of the portal identity.')
param principalId string

var contributor = 'b24988ac-6180-42a0-ab88-20f7382dd24c'
var rbacAdministrator = 'f58310d9-a9f6-439a-9e8d-f62e7b41a168'
var costManagementReader = '72fafb9e-0641-4937-9268-a91bfd8191a3'
var aksClusterUser = '4abbcc35-e782-43d8-92c5-2d3f1bd2253f'

// The roles bicep/shared-infrastructure and bicep/role-assignment grant, and no others.
var grantableRoles = '7f951dda-4ed3-4680-a7ca-43fe172d538d, 2b629674-e913-4c01-ae53-ef4638d8f975, a638d3c7-ab3a-418d-83e6-5f17a39d4fde, ba92f5b4-2d11-453d-a403-e96b0029c9fe, 4633458b-17de-408a-b874-0445c86b69e6'
var grantCondition = '((!(ActionMatches{\'Microsoft.Authorization/roleAssignments/write\'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${grantableRoles}})) AND ((!(ActionMatches{\'Microsoft.Authorization/roleAssignments/delete\'})) OR (@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${grantableRoles}}))'

resource deployer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, contributor)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', contributor)
    description: 'Peak Portal: deploys the catalog templates'
  }
}

resource granter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, rbacAdministrator)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', rbacAdministrator)
    description: 'Peak Portal: grants only the platform data roles (condition)'
    conditionVersion: '2.0'
    condition: grantCondition
  }
}

resource costReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, costManagementReader)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', costManagementReader)
    description: 'Peak Portal: cost pages'
  }
}

resource clusterUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, aksClusterUser)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', aksClusterUser)
    description: 'Peak Portal: cluster health and workloads'
  }
}
