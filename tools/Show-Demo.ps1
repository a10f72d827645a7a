<#
.SYNOPSIS
    The main job, end to end, as build.ps1 Demo shows it. Needs no cluster.
.DESCRIPTION
    build.ps1 Demo starts it in a fresh pwsh with CDITOOLS_MODULE set to the built manifest.
    The sample image, tools/sample/demo-disk.qcow2.xz, is a 2 GiB disk (a boot sector, text and
    64 KiB of random data) made with `qemu-img convert -c -O qcow2` and compressed with `xz -9`.
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

$sample = Join-Path $PSScriptRoot 'sample/demo-disk.qcow2.xz'
$output = Join-Path $PSScriptRoot '../out/demo'
New-Item -ItemType Directory $output -Force | Out-Null

Show-Step 'What the image is, and how large a PVC CDI needs for it' {
    Get-CdiImageInfo -Path $sample | Format-List
}

Show-Step 'Convert it to a raw disk in one pass: xz and qcow2 peeled as the bytes stream, no scratch copy' {
    Import-CdiImage -Path $sample -DestinationPath $output -Force -PassThru
}

Show-Step 'What CDI''s documentation says about scratch space' {
    Get-CdiSupportMatrix -AsGrid
}

Show-Step 'What CDI v1.66.0 really does: every HTTP import but archives goes through scratch space' {
    Get-CdiSupportMatrix -AsGrid -CdiVersion v1.66.0
}

Show-Step 'Where CDI v1.66.0 would need a scratch PVC for this very image, and which class it gets' {
    $scratch = Get-CdiSupportMatrix -Format Qcow2Xz -CdiVersion v1.66.0 -RequiresScratch
    $scratch | Format-Table Endpoint, Mark
    "Scratch PVC class: $($scratch[0].ScratchStorageClass)"
}
