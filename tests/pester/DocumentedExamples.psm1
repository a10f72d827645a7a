# The examples of README.md, the cmdlets' help and about_CdiTools, found and run as written.
# Examples.Tests.ps1 runs each one in a fresh pwsh, in a folder holding the files the examples
# name, against the fake cluster, with the public hosts they name served on this machine.

Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1')
$script:Root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path

function Remove-TrailingComment([string] $Code) {
    (($Code -split "`n" | ForEach-Object { $_ -replace '\s+#\s.*$', '' }) -join "`n").Trim()
}

function Get-DocumentedExample {
    <#
    .SYNOPSIS
        Every example the user documentation shows: one per line of README.md's powershell code
        blocks, one per help example, one per line of about_CdiTools' EXAMPLES.
    .OUTPUTS
        Objects with Text (the code, trimmed, without a comment at the end of a line: the same
        command is written with and without one) and Source (where it is written).
    #>
    $readme = Get-Content (Join-Path $Root 'README.md')
    $inBlock = $false
    for ($i = 0; $i -lt $readme.Count; $i++) {
        $line = $readme[$i]
        if ($line -match '^```') {
            $inBlock = $line -eq '```powershell'
            continue
        }
        if ($inBlock -and $line.Trim()) {
            [pscustomobject]@{ Text = Remove-TrailingComment $line; Source = "README.md line $($i + 1)" }
        }
    }

    [xml] $help = Get-Content -Raw (Join-Path $Root 'module/en-US/CdiTools.dll-Help.xml')
    foreach ($command in $help.helpItems.command) {
        $number = 0
        foreach ($example in @($command.examples.example)) {
            $number++
            [pscustomobject]@{ Text = Remove-TrailingComment "$($example.code)"; Source = "help of $($command.details.name), example $number" }
        }
    }

    $about = Get-Content (Join-Path $Root 'module/en-US/about_CdiTools.help.txt')
    $start = [array]::IndexOf($about, 'EXAMPLES')
    for ($i = $start + 1; $i -lt $about.Count -and $about[$i] -notmatch '^\S'; $i++) {
        if ($about[$i].Trim()) {
            [pscustomobject]@{ Text = Remove-TrailingComment $about[$i]; Source = "about_CdiTools line $($i + 1)" }
        }
    }
}

function New-ExampleSandbox {
    <#
    .SYNOPSIS
        A folder laid out as the examples expect: Work (the current folder, with the images and
        files they name), Web (the public hosts, for FakeInternet) and Home (the child's HOME).
    .DESCRIPTION
        The images are the project's 2 GiB demo disk under the names the examples use; the VMDK
        and raw ones come from the image corpus. Files the fake internet makes at start (the
        CA, the oci-archive) are copied in by Complete-ExampleSandbox.
    #>
    param([Parameter(Mandatory)] [string] $Path)

    $work = New-Item -ItemType Directory (Join-Path $Path 'work')
    $web = New-Item -ItemType Directory (Join-Path $Path 'web')
    $null = New-Item -ItemType Directory (Join-Path $Path 'home'), (Join-Path $work 'raw'), (Join-Path $work 'images')
    $sample = Join-Path $Root 'tools/sample/demo-disk.qcow2.xz'
    $qcow2 = Join-Path $work 'fedora.qcow2'
    & xz -dc $sample > $qcow2
    if ($LASTEXITCODE) { throw "xz could not decompress $sample" }

    Copy-Item $sample (Join-Path $work 'fedora.qcow2.xz')
    Copy-Item $sample (Join-Path $work 'disk.qcow2.xz')
    foreach ($name in 'Fedora-Cloud.qcow2', 'disk.qcow2', 'images/alpine.qcow2', 'images/debian.qcow2') { Copy-Item $qcow2 (Join-Path $work $name) }
    $hash = (Get-FileHash (Join-Path $work 'Fedora-Cloud.qcow2') -Algorithm SHA256).Hash.ToLowerInvariant()
    Set-Content (Join-Path $work 'CHECKSUM') "# Fedora-Cloud.qcow2: 2147483648 bytes`nSHA256 (Fedora-Cloud.qcow2) = $hash"
    & gzip -c (Join-Path $Root 'tests/data/image-corpus/dfvfs/ext2.vmdk') > (Join-Path $work 'disk.vmdk.gz')
    $raw = [byte[]]::new(4MB)
    for ($i = 0; $i -lt $raw.Length; $i += 4096) { $raw[$i] = 0xCD }
    [IO.File]::WriteAllBytes((Join-Path $work 'disk.raw'), $raw)
    & gzip (Join-Path $work 'disk.raw')
    Set-Content (Join-Path $work 'dvs.csv') "Name,Url,Size`nweb-3,https://images.example/web-3.qcow2,10Gi`ndb-1,https://images.example/db-1.qcow2,20Gi"

    foreach ($file in @(
            'images.example.com/disk.qcow2'
            'images.example/fedora.qcow2'
            'quay.io/containerdisks/fedora/tags/40/disk.qcow2'
            'quay.io/kubevirt/cirros-container-disk-demo/tags/latest/disk.qcow2'
            'registry.example.com/disks/win/tags/2022/disk.qcow2')) {
        $target = Join-Path $web $file
        $null = New-Item -ItemType Directory -Force (Split-Path $target)
        Copy-Item $qcow2 $target
    }

    [pscustomobject]@{ Path = $Path; Work = $work.FullName; Web = $web.FullName; Home = (Join-Path $Path 'home') }
}

function New-ExampleScenario {
    <#
    .SYNOPSIS
        The fake cluster the examples run against: namespaces vms (the kubeconfig's), images and
        web; classes standard (default), fast and fast-fs; CDI v1.66.0 under HyperConverged with its
        upload proxy; the PVC fedora-golden and the DataVolumes the examples name, importing;
        a ResourceQuota of 500Gi in vms with 100Gi used. -Objects adds DataVolumes
        (@{ Name; Namespace; Size; Phase }: with a Phase, CDI leaves them in it) and any other
        object given whole (with its kind).
    #>
    param([object[]] $Objects = @(), [int] $StepDelayMilliseconds = 20)
    $dv = {
        param($Name, $Namespace, $Size = '10Gi', $Phase)
        $object = @{
            apiVersion = 'cdi.kubevirt.io/v1beta1'; kind = 'DataVolume'
            metadata   = @{ name = $Name; namespace = $Namespace }
            spec       = @{ source = @{ http = @{ url = "https://images.example/$Name.qcow2" } }; storage = @{ resources = @{ requests = @{ storage = $Size } } } }
        }
        # A DataVolume stored with a status stays as it is: the fake CDI leaves it alone.
        if ($Phase) { $object.status = @{ phase = $Phase } }
        $object
    }
    @{
        namespaces                      = @('vms', 'images', 'web')
        storageClasses                  = @(@{ name = 'standard'; default = $true }, @{ name = 'fast' }, @{ name = 'fast-fs' })
        cdi                             = @{ version = 'v1.66.0' }
        hyperConverged                  = @{}
        dataVolumeStepDelayMilliseconds = $StepDelayMilliseconds
        uploadProxy                     = @{ readyPollMilliseconds = 50; asyncCompletionDelayMilliseconds = 20 }
        objects                         = @(
            @{
                apiVersion = 'v1'; kind = 'PersistentVolumeClaim'
                metadata   = @{ name = 'fedora-golden'; namespace = 'images' }
                spec       = @{ accessModes = @('ReadWriteOnce'); resources = @{ requests = @{ storage = '10Gi' } }; storageClassName = 'standard'; volumeMode = 'Filesystem' }
                status     = @{ phase = 'Bound'; accessModes = @('ReadWriteOnce'); capacity = @{ storage = '10Gi' } }
            }
            & $dv 'fedora-disk' 'vms'
            & $dv 'web-1' 'vms'
            & $dv 'web-2' 'web'
            & $dv 'test-1' 'vms'
            & $dv 'test-2' 'vms'
            @{
                apiVersion = 'v1'; kind = 'ResourceQuota'
                metadata   = @{ name = 'storage'; namespace = 'vms' }
                spec       = @{ hard = @{ 'requests.storage' = '500Gi'; persistentvolumeclaims = '50' } }
                status     = @{ hard = @{ 'requests.storage' = '500Gi'; persistentvolumeclaims = '50' }; used = @{ 'requests.storage' = '100Gi'; persistentvolumeclaims = '10' } }
            }
        ) + @(foreach ($o in $Objects) { if ($o.kind) { $o } else { & $dv $o.Name $o.Namespace ($o.Size ?? '10Gi') $o.Phase } })
    }
}

function Complete-ExampleSandbox {
    # What exists only once the fake internet runs: its CA, and the container disk as an oci-archive.
    param([Parameter(Mandatory)] $Sandbox, [Parameter(Mandatory)] $Cluster)
    foreach ($name in 'ca.pem', 'registry-ca.pem') { Copy-Item $Cluster.InternetCaFile (Join-Path $Sandbox.Work $name) }
    Copy-Item (Join-Path $Sandbox.Web 'quay.io/kubevirt/cirros-container-disk-demo/tags/latest.oci-archive.tar') (Join-Path $Sandbox.Work 'cirros.tar')
}

function Invoke-DocumentedExample {
    <#
    .SYNOPSIS
        Runs one example as written in a fresh pwsh and returns what it did.
    .DESCRIPTION
        The child imports the built module (unless -NoModule), loads ExamplePrelude.ps1 (what a
        reader supplies: an answer to Get-Credential, $cred, and kubectl), changes to the
        folder and runs the text with $ErrorActionPreference = 'Stop', every stream captured.
        -Setup runs before it in the same session: what the reader did first (an earlier line of
        the same block, an answer to a prompt). -Probe runs after it, to look at state the
        example left. The result
        has Output (the formatted text), Objects (the output as JSON-able data), Warnings,
        Verbose, Information, Error ("<FullyQualifiedErrorId>: <message>"), Probe and
        HostOutput (what was written to the console itself).
    #>
    param(
        [Parameter(Mandatory)] [string] $Text,
        [Parameter(Mandatory)] $Sandbox,
        [Parameter(Mandatory)] $Cluster,
        [Parameter(Mandatory)] [string] $Location,
        [string] $Setup,
        [string] $Probe,
        [switch] $NoModule
    )
    $quote = { param($s) "'" + ($s -replace "'", "''") + "'" }
    $script = @"
`$ErrorActionPreference = 'Stop'
`$ProgressPreference = 'SilentlyContinue'
$(if (-not $NoModule) { "Import-Module $(& $quote $env:CDITOOLS_MODULE)" })
. $(& $quote (Join-Path $PSScriptRoot 'ExamplePrelude.ps1'))
Set-Location $(& $quote $Location)
`$example = [scriptblock]::Create($(& $quote $Text))
# psobject, not object: a list of object keeps the base object and drops what Select-Object added to it.
`$records = [Collections.Generic.List[psobject]]::new()
`$failure = `$null
try { `$null = . ([scriptblock]::Create($(& $quote $Setup))) } catch { `$failure = `$_ }
if (-not `$failure) { try { & `$example *>&1 | ForEach-Object { `$records.Add(`$_) } } catch { `$failure = `$_ } }
`$probed = `$null
if (-not `$failure) { try { `$probed = & ([scriptblock]::Create($(& $quote $Probe))) } catch { `$failure = `$_ } }
`$streams = 'ErrorRecord', 'WarningRecord', 'VerboseRecord', 'InformationRecord', 'DebugRecord'
`$output = @(`$records | Where-Object { `$_.GetType().Name -notin `$streams })
if (-not `$failure) { `$failure = `$records | Where-Object { `$_ -is [Management.Automation.ErrorRecord] } | Select-Object -First 1 }
`$data = @(`$output | Where-Object { `$_.GetType().Namespace -notlike 'Microsoft.PowerShell.Commands.Internal.Format*' } | ForEach-Object {
    if (`$_ -is [string] -or `$_ -is [ValueType]) { `$_ } else { `$_ | Select-Object -Property * }
})
[ordered]@{
    Output      = (`$output | Out-String -Width 250)
    Objects     = `$data
    Warnings    = @(`$records | Where-Object { `$_ -is [Management.Automation.WarningRecord] } | ForEach-Object Message)
    Verbose     = @(`$records | Where-Object { `$_ -is [Management.Automation.VerboseRecord] } | ForEach-Object Message)
    Information = @(`$records | Where-Object { `$_ -is [Management.Automation.InformationRecord] } | ForEach-Object { "`$(`$_.MessageData)" })
    Error       = `$failure ? "`$(`$failure.FullyQualifiedErrorId): `$(`$failure.Exception.Message)" : `$null
    Probe       = `$probed
} | ConvertTo-Json -Depth 4 -Compress -EnumsAsStrings -WarningAction SilentlyContinue
"@
    $environment = @{
        KUBECONFIG                  = $Cluster.Kubeconfig
        HTTPS_PROXY                 = $Cluster.InternetProxy
        NO_PROXY                    = '127.0.0.1,localhost'
        SSL_CERT_FILE               = $Cluster.InternetCaFile
        HOME                        = $Sandbox.Home
        CDITOOLS_EXAMPLE_API        = $Cluster.Uri
        CDITOOLS_EXAMPLE_TOKEN      = $Cluster.Token
        CDITOOLS_EXAMPLE_NAMESPACE  = 'vms'
    }
    $run = Invoke-FreshPwsh -Script $script -Environment $environment
    # What went to the host rather than to a stream (-WhatIf's "What if:" lines, prompts).
    $hostText = ($run.Output -split "`n" | Where-Object { $_ -notlike '{*' }) -join "`n"
    try { Get-JsonResult $run | Add-Member -PassThru HostOutput $hostText }
    catch { [pscustomobject]@{ Output = ''; Objects = @(); Warnings = @(); Verbose = @(); Information = @(); Error = "The example's pwsh gave no result: $($run.Output)"; Probe = $null; HostOutput = $hostText } }
}

function Get-FakeObject {
    # An object of the fake cluster by its API path, or null when there is none.
    param([Parameter(Mandatory)] $Cluster, [Parameter(Mandatory)] [string] $Path)
    try { Invoke-FakeCluster $Cluster $Path }
    catch { if ($_.Exception.Response.StatusCode -eq 404) { $null } else { throw } }
}

function Get-FakeDataVolume {
    param([Parameter(Mandatory)] $Cluster, [Parameter(Mandatory)] [string] $Name, [string] $Namespace = 'vms')
    Get-FakeObject $Cluster "/apis/cdi.kubevirt.io/v1beta1/namespaces/$Namespace/datavolumes/$Name"
}

Export-ModuleMember -Function Get-FakeObject, Get-FakeDataVolume, Get-DocumentedExample, New-ExampleSandbox, New-ExampleScenario, Complete-ExampleSandbox, Invoke-DocumentedExample
