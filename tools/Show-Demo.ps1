<#
.SYNOPSIS
    The main job, end to end, as build.ps1 Demo shows it. Needs no cluster.
.DESCRIPTION
    build.ps1 Demo starts it in a fresh pwsh with CDITOOLS_MODULE set to the built manifest.
#>
$ErrorActionPreference = 'Stop'
if (-not $env:CDITOOLS_MODULE) { throw "CDITOOLS_MODULE is not set; run the demo through 'build.ps1 Demo'." }

function Show-Step([string] $Title, [scriptblock] $Command) {
    Write-Host ''
    Write-Host "PS> $($Command.ToString().Trim())" -ForegroundColor Cyan
    Write-Host "    # $Title" -ForegroundColor DarkGray
    & $Command | Out-Host
}

Import-Module $env:CDITOOLS_MODULE
$module = Get-Module CdiTools
Write-Host "CdiTools $($module.Version) from $($module.ModuleBase)" -ForegroundColor Green

Show-Step 'What CDI''s documentation says about scratch space' {
    Get-CdiSupportMatrix -AsGrid
}

Show-Step 'What CDI v1.66.0 really does: every HTTP import but archives goes through scratch space' {
    Get-CdiSupportMatrix -AsGrid -CdiVersion v1.66.0
}

Show-Step 'Which scratch PVCs a v1.66.0 cluster allocates for uploads, and which class they get' {
    Get-CdiSupportMatrix -Endpoint Upload -RequiresScratch -CdiVersion v1.66.0 -Format Qcow2, Raw |
        Format-List Format, Endpoint, Mark, Reason, ScratchStorageClass
}
