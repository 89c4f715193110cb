<#
.SYNOPSIS
Grants the Microsoft Graph application permissions the app needs to its managed identity, or to an app
registration, as app role assignments (Microsoft Graph PowerShell SDK). The twin of grant-graph-permissions.sh.

.DESCRIPTION
Granted (each role looked up by its value on Graph's service principal at run time, never a hard-coded id):
  SynchronizationData-User.Upload  bulkUpload (required)
  ProvisioningLog.Read.All         per-worker results from the provisioning logs
  Synchronization.Read.All         the job's state before sending
  Synchronization.ReadWrite.All    only with -SchemaSync: profiles with custom attributes

Idempotent: a permission already granted is left alone and reported as such; a second run changes nothing and
says so. Signs in with Connect-MgGraph (AppRoleAssignment.ReadWrite.All, Application.Read.All) as Privileged Role
Administrator (or Global Administrator).

Cmdlets: https://learn.microsoft.com/powershell/module/microsoft.graph.applications/new-mgserviceprincipalapproleassignment
Permissions: https://learn.microsoft.com/entra/identity/app-provisioning/inbound-provisioning-api-grant-access

.EXAMPLE
./infra/scripts/grant-graph-permissions.ps1 -PrincipalId <AZURE_IDENTITY_PRINCIPAL_ID>

.EXAMPLE
./infra/scripts/grant-graph-permissions.ps1 -AppId <application id> -SchemaSync -Environment USGov
#>
[CmdletBinding()]
param(
    # The service principal object id of the managed identity or of an app registration's enterprise application.
    [ValidatePattern('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')]
    [string] $PrincipalId,

    # An app registration's application (client) id; its service principal is looked up.
    [ValidatePattern('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')]
    [string] $AppId,

    # Also grant Synchronization.ReadWrite.All (profiles with custom attributes).
    [switch] $SchemaSync,

    # The Microsoft Graph cloud: Global, USGov, USGovDoD, China (Connect-MgGraph -Environment).
    [string] $Environment = 'Global'
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

# Refuse to run without a principal (no prompt: the caller names it, or nothing happens).
if (-not $PrincipalId -and -not $AppId) {
    $Host.UI.WriteErrorLine('refusing to run: name the principal to grant, with -PrincipalId or -AppId')
    exit 2
}
if ($PrincipalId -and $AppId) {
    $Host.UI.WriteErrorLine('refusing to run: give -PrincipalId or -AppId, not both')
    exit 2
}

$graphAppId = '00000003-0000-0000-c000-000000000000'
$permissions = @('SynchronizationData-User.Upload', 'ProvisioningLog.Read.All', 'Synchronization.Read.All')
if ($SchemaSync) {
    $permissions += 'Synchronization.ReadWrite.All'
}

if (-not (Get-Command Connect-MgGraph -ErrorAction SilentlyContinue)) {
    throw 'The Microsoft Graph PowerShell SDK is required: Install-Module Microsoft.Graph.Applications -Scope CurrentUser'
}
Connect-MgGraph -Scopes 'AppRoleAssignment.ReadWrite.All', 'Application.Read.All' -Environment $Environment -NoWelcome

if ($AppId) {
    $principal = Get-MgServicePrincipal -Filter "appId eq '$AppId'"
    if (-not $principal) {
        throw "No service principal for app id $AppId in this tenant"
    }
}
else {
    $principal = Get-MgServicePrincipal -ServicePrincipalId $PrincipalId
}
$graph = Get-MgServicePrincipal -Filter "appId eq '$graphAppId'"
Write-Host "principal: $($principal.DisplayName) ($($principal.Id))"

$held = @(Get-MgServicePrincipalAppRoleAssignment -ServicePrincipalId $principal.Id -All |
    Where-Object { $_.ResourceId -eq $graph.Id } |
    ForEach-Object { $_.AppRoleId })

$granted = 0
foreach ($permission in $permissions) {
    $role = $graph.AppRoles | Where-Object { $_.Value -eq $permission -and $_.AllowedMemberTypes -contains 'Application' } |
        Select-Object -First 1
    if (-not $role) {
        throw "Microsoft Graph has no application permission $permission in this cloud"
    }
    if ($held -contains $role.Id) {
        Write-Host "already granted: $permission"
        continue
    }
    New-MgServicePrincipalAppRoleAssignment -ServicePrincipalId $principal.Id -PrincipalId $principal.Id `
        -ResourceId $graph.Id -AppRoleId $role.Id | Out-Null
    Write-Host "granted: $permission"
    $granted++
}

if ($granted -eq 0) {
    Write-Host "nothing changed: $($principal.DisplayName) already holds every permission asked for"
}
else {
    Write-Host "$granted permission(s) granted to $($principal.DisplayName). Tokens are cached for up to 24 hours: restart the app to use them now."
}
if (-not $SchemaSync) {
    Write-Host 'Synchronization.ReadWrite.All not granted (only profiles with custom attributes need it: rerun with -SchemaSync)'
}
