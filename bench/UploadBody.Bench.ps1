<#
.SYNOPSIS
    The body Import-CdiImage -Namespace uploads (the raw disk in gzip, converted as it streams)
    against the same body made with standard tools, measured in the same run.
.DESCRIPTION
    For each image the peer makes the same body the two-step way: qemu-img convert (in its
    fastest configuration, -W -m 8) to a raw file
    (after xz -dc to a scratch file for qcow2.xz, as CDI would), then gzip -1. Ours is one pass
    with no intermediate file. Both write the body to a file under out/bench, so the sizes can be
    compared; virtctl image-upload would send the image file itself, whose size is shown too.
    It reuses the fixtures of Convert.Bench.ps1 (run that first, or let this make them).
    build.ps1 Bench runs it with CDITOOLS_MODULE set to the built module.
#>
param(
    [int] $Repeat = 3,
    [long] $DiskSize = 2GB,
    [string] $Work = (Join-Path $PSScriptRoot '../out/bench')
)

$ErrorActionPreference = 'Stop'
if (-not $env:CDITOOLS_MODULE) { throw "CDITOOLS_MODULE is not set; run it through 'build.ps1 Bench'." }
$fixtures = Join-Path $Work 'fixtures'
$outputs = Join-Path $Work 'outputs'
New-Item -ItemType Directory $outputs -Force | Out-Null
function Fixture([string] $Name) { Join-Path $fixtures ($Name -replace '^(\w+)\.', "`$1-$DiskSize.") }
foreach ($name in 'plain.qcow2', 'deflate.qcow2', 'qcow2.xz') {
    if (-not (Test-Path (Fixture $name))) { throw "Missing fixture $(Fixture $name): run bench/Convert.Bench.ps1 first." }
}

Import-Module (Join-Path $PSScriptRoot 'BenchTools.psm1') -Force

# A sparse disk as cloud images are: 8 GiB with 128 MiB of data, where zero runs dominate the body.
$sparse = Join-Path $fixtures 'sparse-8G.qcow2'
if (-not (Test-Path $sparse)) {
    Invoke-Tool "qemu-img create -q -f qcow2 '$sparse.partial' 8G && qemu-io -f qcow2 -c 'write -P 0x61 0 64M' -c 'write -P 0x62 4G 64M' '$sparse.partial' > /dev/null"
    Move-Item "$sparse.partial" $sparse
}

# Ours runs in a fresh pwsh that loads the engine as the module ships it, and times RawExport alone.
$ourScript = Join-Path $Work 'upload-body.ps1'
@'
param($Module, $In, $Out)
Add-Type -Path (Join-Path (Split-Path $Module) 'deps/CdiTools.Engine.dll')
$file = [IO.File]::Create($Out)
try {
    $clock = [Diagnostics.Stopwatch]::StartNew()
    $result = [CdiTools.Engine.RawExport]::ToStreamAsync([CdiTools.Engine.ImageLocation]::File($In), $file, $true, [CdiTools.Engine.ImageOpenOptions]::new(), $null, [Threading.CancellationToken]::None).GetAwaiter().GetResult()
    $clock.Stop()
}
finally { $file.Dispose() }
[pscustomobject]@{ Seconds = $clock.Elapsed.TotalSeconds; PeakMiB = [Diagnostics.Process]::GetCurrentProcess().PeakWorkingSet64 / 1MB; Disk = $result.VirtualSize } | ConvertTo-Json -Compress
'@ | Set-Content $ourScript

function Measure-Ours([string] $In, [string] $Out) { Invoke-FreshPwsh $ourScript @($env:CDITOOLS_MODULE, $In, $Out) }

$cases = @(
    @{ Case = 'qcow2 plain'; Input = Fixture 'plain.qcow2'; PeerCommand = "qemu-img convert -W -m 8 -O raw '{0}' '{1}.raw' && gzip -1 -c '{1}.raw' > '{1}' && rm '{1}.raw'" }
    @{ Case = 'qcow2 deflate'; Input = Fixture 'deflate.qcow2'; PeerCommand = "qemu-img convert -W -m 8 -O raw '{0}' '{1}.raw' && gzip -1 -c '{1}.raw' > '{1}' && rm '{1}.raw'" }
    @{ Case = 'qcow2.xz'; Input = Fixture 'qcow2.xz'; PeerCommand = "xz -dc '{0}' > '{1}.scratch' && qemu-img convert -W -m 8 -O raw '{1}.scratch' '{1}.raw' && rm '{1}.scratch' && gzip -1 -c '{1}.raw' > '{1}' && rm '{1}.raw'" }
    @{ Case = 'sparse qcow2 (8 GiB, 128 MiB data)'; Input = $sparse; PeerCommand = "qemu-img convert -W -m 8 -O raw '{0}' '{1}.raw' && gzip -1 -c '{1}.raw' > '{1}' && rm '{1}.raw'" }
)

$rows = foreach ($case in $cases) {
    $oursOut = Join-Path $outputs 'ours.body.gz'
    $peerOut = Join-Path $outputs 'peer.body.gz'
    $peerCommand = $case.PeerCommand -f $case.Input, $peerOut
    $image = $case.Input
    $runs = Measure-Pair -Ours { Measure-Ours $image $oursOut } -PeerCommand $peerCommand -Repeat $Repeat
    $ours = $runs.Ours; $peer = $runs.Peer

    $oursSeconds = Get-Median $ours.Seconds
    $peerSeconds = Get-Median $peer
    [pscustomobject]@{
        Case          = $case.Case
        PeerSeconds   = [math]::Round($peerSeconds, 2)
        OurSeconds    = [math]::Round($oursSeconds, 2)
        Ratio         = [math]::Round($oursSeconds / $peerSeconds, 2)
        OurBodyMiB    = [math]::Round((Get-Item $oursOut).Length / 1MB)
        PeerBodyMiB   = [math]::Round((Get-Item $peerOut).Length / 1MB)
        VirtctlMiB    = [math]::Round((Get-Item $case.Input).Length / 1MB)
        OurPeakMiB    = [math]::Round(($ours.PeakMiB | Measure-Object -Maximum).Maximum)
    }
    Remove-Item $oursOut, $peerOut -ErrorAction SilentlyContinue
}

$rows | Format-Table -AutoSize | Out-String -Width 200 | Out-Host
Write-Host ("Ratio is our median time over the two-step peer's, {0} runs each after a warm-up; below 1.0 is faster. VirtctlMiB is what virtctl would send (the file as it is)." -f $Repeat)
