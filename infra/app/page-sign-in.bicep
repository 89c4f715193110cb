// The mapping page and the API behind Entra sign-in (App Service authentication, "Easy Auth"), with an app
// registration the operator creates and names by its client id. Unauthenticated browsers are sent to sign in;
// API callers without a token get 401. The health probe and the blob webhook (Event Grid, with its system key)
// stay reachable. Function keys are still checked behind the sign-in: a system-to-system caller sends an Entra
// token for api://<client id> and the function key. App Service strips the X-MS-CLIENT-PRINCIPAL-* headers from
// callers and sets them itself, so approvals and retries can record who. With no client secret configured, the
// browser sign-in uses ID tokens: the app registration must allow them (Authentication > ID tokens).
// https://learn.microsoft.com/azure/app-service/configure-authentication-provider-aad
// https://learn.microsoft.com/azure/templates/microsoft.web/sites/config-authsettingsv2

param functionAppName string
@description('Client (application) id of the sign-in app registration. Its secret is never needed: tokens are only validated.')
param clientId string

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource pageSignIn 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'RedirectToLoginPage'
      redirectToProvider: 'azureactivedirectory'
      excludedPaths: [
        '/api/health'
        '/runtime/webhooks/blobs'
      ]
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: clientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            'api://${clientId}'
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}
