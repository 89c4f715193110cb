// The one user-assigned managed identity of the app: storage, telemetry, Key Vault references, Event Grid
// dead-letters and Microsoft Graph. User-assigned (not system-assigned) so that its roles and its Graph app
// roles exist before the app's first start, and survive the app being recreated.
// https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/managed-identity-best-practice-recommendations

param name string
param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
