<#
.SYNOPSIS
    The main job, end to end, as build.ps1 Demo shows it. Needs no cluster; where a kubeconfig
    is present it also reads the cluster's scratch class and DataVolumes (it changes nothing).
.DESCRIPTION
    build.ps1 Demo starts it in a fresh pwsh with CDITOOLS_MODULE set to the built manifest.
    The sample image, tools/sample/demo-disk.qcow2.xz, is a 2 GiB disk (a boot sector, text and
    64 KiB of random data) made with `qemu-img convert -c -O qcow2` and compressed with `xz -9`;
    tools/sample/demo-disk.vmdk.xz is the same disk as a VMware export would carry it, made with
    `qemu-img convert -O vmdk -o subformat=streamOptimized` and `xz -9`.
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
    $script:info = Get-CdiImageInfo -Path $sample
    $info | Format-List
}

Show-Step 'Convert it to a raw disk in one pass: xz and qcow2 peeled as the bytes stream, no scratch copy' {
    Import-CdiImage -Path $sample -DestinationPath $output -Force -PassThru
}

Show-Step 'The same disk as a VMware export (stream-optimized vmdk, here in xz): the same single pass, the same disk' {
    $vmdk = Join-Path $PSScriptRoot 'sample/demo-disk.vmdk.xz'
    Get-CdiImageInfo -Path $vmdk | Format-List Format, Subformat, VirtualSize, FormatChain
    $fromVmdk = Import-CdiImage -Path $vmdk -DestinationPath (Join-Path $output 'demo-disk-from-vmdk.raw') -Force -PassThru
    $fromVmdk
    $same = (Get-FileHash (Join-Path $output 'demo-disk.raw')).Hash -eq (Get-FileHash $fromVmdk.Destination).Hash
    "Identical to the disk converted from the qcow2: $same"
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

Show-Step 'What Import-CdiImage does instead, on the client: no scratch bytes (an upload still gets an empty scratch PVC from CDI: ClusterScratchPvc)' {
    Get-CdiSupportMatrix -Engine -Format Qcow2Xz -CdiVersion v1.66.0
}

Show-Step 'The DataVolume to upload it into, as a manifest (no cluster needed): the storage API asks for the disk, and CDI adds its filesystem overhead to the PVC' {
    New-CdiDataVolume demo-disk -Upload -Size $info.VirtualSize -AsManifest
    "CDI makes its PVC $($info.FilesystemPvcQuantity) on a Filesystem volume with 6% overhead."
}

Show-Step 'The same image served over HTTPS with basic auth: credentials go into a Secret the DataVolume owns' {
    $credential = [pscredential]::new('reader', (ConvertTo-SecureString 'not-shown' -AsPlainText -Force))
    New-CdiDataVolume demo-disk -Url https://images.example/demo-disk.qcow2.xz -Credential $credential -Size $info.VirtualSize -AsManifest
}

$kubeconfig = if ($env:KUBECONFIG) { $env:KUBECONFIG } else { Join-Path $HOME '.kube/config' }
if ($env:KUBECONFIG -or (Test-Path $kubeconfig)) {
    Show-Step 'A kubeconfig is present: the scratch class CDI uses on that cluster, and why (read only)' {
        try { Get-CdiScratchStorageClass -ErrorAction Stop } catch { "Could not read the cluster: $_" }
    }
    Show-Step 'Its DataVolumes, like kubectl get dv (read only)' {
        try { Get-CdiDataVolume -AllNamespaces -ErrorAction Stop } catch { "Could not read the cluster: $_" }
    }
    Show-Step 'Its scratch PVCs: what each serves, why a Pending one does not bind, which are left over (read only)' {
        try { $scratch = @(Get-CdiScratchVolume -AllNamespaces -ErrorAction Stop); if ($scratch) { $scratch } else { 'No scratch PVCs: no import is using one now.' } } catch { "Could not read the cluster: $_" }
    }
}
else {
    Write-Host ''
    Write-Host 'No kubeconfig here, so the demo stops before the cluster. With one, Get-CdiScratchStorageClass, Get-CdiDataVolume and Get-CdiScratchVolume read it.' -ForegroundColor DarkGray
}
