# The Function App as a container image, for hosts that run Functions containers: Azure Container Apps, or an
# Elastic Premium / Dedicated plan. (The Flex Consumption plan of infra/main.bicep runs code packages, not images.)
# Microsoft's Python base image and layout, as `func init --docker` writes it:
# https://learn.microsoft.com/azure/azure-functions/functions-how-to-custom-container
# https://mcr.microsoft.com/product/azure-functions/python/about
#
# Python 3.11, as requirements.txt (azure-functions 1.26 is the newest release for 3.11) and infra/main.bicep.
# What is copied is what .dockerignore leaves, the same files as the Function App's package (.funcignore).
#
# Settings are app settings / environment variables, never baked in: the same as infra/app/function-app.bicep sets
# (README "Deploying to Azure" > "Container image" lists them): AzureWebJobsStorage__* and HR_STORAGE__* with a
# managed identity (credential, clientId, service URIs), ENTRA_BULK_UPLOAD_URL, ENTRA_AUTH, AZURE_CLIENT_ID,
# AZURE_TENANT_ID, APPLICATIONINSIGHTS_CONNECTION_STRING and APPLICATIONINSIGHTS_AUTHENTICATION_STRING, the
# container and queue names, ENTRA_RATE_LIMIT divided by the replicas that may send at once. BLOB_TRIGGER_SOURCE
# may be LogsAndContainerScan off Flex Consumption (polling, no Event Grid subscription).
FROM mcr.microsoft.com/azure-functions/python:4-python3.11

ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt /
RUN pip install --no-cache-dir -r /requirements.txt

COPY . /home/site/wwwroot
