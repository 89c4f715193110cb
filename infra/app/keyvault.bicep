// Key Vault for HR-system secrets (connector client secrets, API tokens, certificates' passwords) and, with
// entraAuth=secret, the app registration's client secret. RBAC authorization (no access policies): the identity
// reads secrets through Key Vault references, the operator manages them.
// https://learn.microsoft.com/azure/key-vault/general/rbac-guide
// https://learn.microsoft.com/azure/app-service/app-service-key-vault-references

param name string
param location string
param tags object
param purgeProtection bool
@description('Resource id of the app\'s identity: part of the role assignments\' guid() names.')
param identityId string
param identityPrincipalId string
param operatorPrincipalId string
param operatorPrincipalType string

var roleIds = {
  // Key Vault Secrets User: read secret contents, nothing else (what a Key Vault reference needs).
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  // Key Vault Secrets Officer: the operator creates and rotates secrets; no keys, certificates or role changes.
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // Purge protection cannot be switched off once on, and the property may not be false: omitted (null) instead.
    // https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview#purge-protection
    enablePurgeProtection: purgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
  }
}

resource keyVaultRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, identityId, roleIds.keyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.keyVaultSecretsUser)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource operatorSecretsRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(keyVault.id, operatorPrincipalId, roleIds.keyVaultSecretsOfficer)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.keyVaultSecretsOfficer)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}

output name string = keyVault.name
output uri string = keyVault.properties.vaultUri
