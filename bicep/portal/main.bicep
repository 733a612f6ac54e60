// Peak Portal's own infrastructure (#14): what the portal needs to run on the platform's AKS cluster.
// Its resource group with PostgreSQL Flexible Server, a Redis cache for the Celery broker, a
// user-assigned identity federated with the cluster's OIDC issuer (Microsoft Entra Workload ID), a Key
// Vault with the portal's secrets, Application Insights; and the identity's role assignments on the
// subscriptions of the environments it deploys to. Deploy at subscription scope:
//   az deployment sub create --location eastus --template-file main.bicep \
//     --parameters environment=prod aksOidcIssuerUrl=... secretKey=... postgresAdminPassword=...
metadata description = 'The portal itself: PostgreSQL, Redis, its workload identity with least-privilege roles on the environments, Key Vault secrets and Application Insights.'

targetScope = 'subscription'

@description('The portal installation this is (its own environment, not the platform environments it manages).')
@allowed([
  'dev'
  'staging'
  'prod'
])
param environment string = 'prod'

@description('Azure region of the resource group and everything in it.')
param location string = deployment().location

@description('Lowercase letters only: the start of every resource name.')
@minLength(3)
@maxLength(12)
param projectName string = 'peakportal'

@description('OIDC issuer URL of the AKS cluster the portal runs on (az aks show --query oidcIssuerProfile.issuerUrl).')
@minLength(8)
param aksOidcIssuerUrl string

@description('Kubernetes namespace of the portal; empty for peak-portal-<environment>, as the Kustomize overlays set it.')
param kubernetesNamespace string = ''

@description('Kubernetes service account the portal runs as (deploy/k8s/base/serviceaccount.yaml).')
param serviceAccountName string = 'peak-portal'

@description('Subscription IDs of the environments (dev, staging, prod) the portal deploys to and audits; empty for this subscription.')
param environmentSubscriptionIds array = []

@description('PostgreSQL compute: Burstable B2s for dev and staging, General Purpose D2ds_v5 for prod (zone-redundant there).')
@allowed([
  'Standard_B2s'
  'Standard_D2ds_v5'
])
param postgresSku string = 'Standard_B2s'

@description('PostgreSQL storage in GiB.')
@minValue(32)
@maxValue(1024)
param postgresStorageGb int = 32

@description('Administrator login of the PostgreSQL server (the portal connects with it; kept in Key Vault).')
@minLength(3)
@maxLength(63)
param postgresAdminLogin string = 'portaladmin'

@description('Administrator password of the PostgreSQL server; stored in Key Vault, never in the deployment.')
@secure()
@minLength(16)
param postgresAdminPassword string

@description('Django SECRET_KEY for the portal; stored in Key Vault.')
@secure()
@minLength(50)
param secretKey string

@description('Days Log Analytics keeps the portal logs and traces.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

@description('Tags added to every resource, on top of environment and project.')
param tags object = {}

var namespace = empty(kubernetesNamespace) ? 'peak-portal-${environment}' : kubernetesNamespace
var accessSubscriptions = empty(environmentSubscriptionIds) ? [
  subscription().subscriptionId
] : environmentSubscriptionIds

var allTags = union(tags, {
  environment: environment
  project: projectName
  managedBy: 'peak-portal'
})

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${projectName}-${environment}-rg'
  location: location
  tags: allTags
}

module portal 'portal.bicep' = {
  name: 'peak-portal-${environment}'
  scope: rg
  params: {
    environment: environment
    location: location
    prefix: '${projectName}-${environment}'
    aksOidcIssuerUrl: aksOidcIssuerUrl
    federatedSubject: 'system:serviceaccount:${namespace}:${serviceAccountName}'
    postgresSku: postgresSku
    postgresStorageGb: postgresStorageGb
    postgresAdminLogin: postgresAdminLogin
    postgresAdminPassword: postgresAdminPassword
    secretKey: secretKey
    logRetentionDays: logRetentionDays
    tags: allTags
  }
}

// What the portal may do where the platform lives: one module per environment subscription.
module access 'portal-access.bicep' = [for subscriptionId in accessSubscriptions: {
  name: 'peak-portal-access-${environment}-${take(subscriptionId, 8)}'
  scope: subscription(subscriptionId)
  params: {
    principalId: portal.outputs.identityPrincipalId
  }
}]

output resourceGroupName string = rg.name
output identityClientId string = portal.outputs.identityClientId
output keyVaultName string = portal.outputs.keyVaultName
output postgresHost string = portal.outputs.postgresHost
