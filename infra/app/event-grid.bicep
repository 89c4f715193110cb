// The Event Grid system topic on the storage account. Its BlobCreated subscription to the provision_blob blob
// trigger is created after the code is deployed, by infra/scripts/postdeploy.sh (azd's postdeploy hook): the
// webhook URL needs the host's blobs_extension system key, which exists only once the Event Grid blob trigger has
// been loaded, and Event Grid validates the webhook when the subscription is created. This is how Microsoft's
// Event Grid blob trigger quickstart does it (scripts/post-up.sh in
// https://github.com/Azure-Samples/functions-quickstart-python-azd-eventgrid-blob; tutorial:
// https://learn.microsoft.com/azure/azure-functions/functions-event-grid-blob-trigger).

param name string
param location string
param tags object
param storageAccountId string
@description('The app\'s identity, assigned to the topic: the subscription dead-letters with it (shared keys are off).')
param identityId string

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: name
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    source: storageAccountId
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

output name string = systemTopic.name
output id string = systemTopic.id
