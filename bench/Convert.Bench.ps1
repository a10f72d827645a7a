<#
.SYNOPSIS
    Import-CdiImage against its peers, measured in the same run: qemu-img convert for qcow2 (plain,
    deflate- and zstd-compressed), vmdk (stream-optimized and monolithic sparse), vhd, vhdx and vdi,
    xz/gzip/zstd -dc for wrapped raw, and CDI's two-step path for qcow2.xz and a gzipped vmdk (the
    decompressor to a scratch file, then qemu-img convert). The floor, cp --sparse=always of the
    raw disk, is timed in the same run. Every side ends with its output flushed to stable storage,
    on the same file system.
.DESCRIPTION
    Builds a 2 GiB mixed disk (random, zero, text and sparse regions) once under out/bench, makes
    the fixtures from it, then times each case Repeat times (after one warm-up run, so both sides
    read from the page cache) and prints the median time of each side, the ratio ours/peer (below
    1.0 means faster), our peak working set (a fresh pwsh per conversion, so it includes pwsh's
    own ~100 MiB) and our scratch bytes.
    build.ps1 Bench runs it with CDITOOLS_MODULE set to the built module.
#>
param(
    [int] $Repeat = 3,
    # Only the cases whose name matches one of these wildcards ('vmdk*', 'qcow2 plain').
    [string[]] $Only = @('*'),
    [long] $DiskSize = 2GB,
    [string] $Work = (Join-Path $PSScriptRoot '../out/bench')
)

$ErrorActionPreference = 'Stop'
if (-not $env:CDITOOLS_MODULE) { throw "CDITOOLS_MODULE is not set; run it through 'build.ps1 Bench'." }
foreach ($tool in 'qemu-img', 'xz', 'gzip', 'zstd') {
    if (-not (Get-Command $tool -CommandType Application -ErrorAction SilentlyContinue)) { throw "The benchmark needs $tool." }
}

$fixtures = Join-Path $Work 'fixtures'
$outputs = Join-Path $Work 'outputs'
New-Item -ItemType Directory $fixtures, $outputs -Force | Out-Null

Import-Module (Join-Path $PSScriptRoot 'BenchTools.psm1') -Force

function New-MixedDisk([string] $Path, [long] $Size) {
    # One MiB region after another: random, zeros, text, mostly zeros with a byte now and then,
    # half random; each random region different, so nothing is repeated.
    $random = [Random]::new(2024)
    $block = [byte[]]::new(1MB)
    $text = [Text.Encoding]::ASCII.GetBytes((0..20000 | ForEach-Object { "line $_ of a compressible text region in the benchmark disk`n" }) -join '')
    $file = [IO.File]::Create($Path)
    try {
        for ($offset = 0L; $offset -lt $Size; $offset += 1MB) {
            switch (($offset / 1MB) % 5) {
                0 { $random.NextBytes($block) }
                1 { [Array]::Clear($block) }
                2 { [Array]::Copy($text, 0, $block, 0, 1MB) }
                3 { [Array]::Clear($block); for ($i = $random.Next(60000); $i -lt 1MB; $i += $random.Next(30000, 90000)) { $block[$i] = 1 + $random.Next(255) } }
                4 { [Array]::Clear($block); $half = [byte[]]::new(512KB); $random.NextBytes($half); [Array]::Copy($half, $block, $half.Length) }
            }
            $file.Write($block, 0, $block.Length)
        }
    }
    finally { $file.Dispose() }
}

$raw = Join-Path $fixtures "mixed-$DiskSize.raw"
if (-not (Test-Path $raw)) {
    Write-Host "Making the $($DiskSize / 1GB) GiB mixed disk and its fixtures (once)..."
    New-MixedDisk $raw $DiskSize
}

$made = @{
    'plain.qcow2'   = "qemu-img convert -f raw -O qcow2 '$raw' '{0}'"
    'deflate.qcow2' = "qemu-img convert -f raw -O qcow2 -c '$raw' '{0}'"
    'zstd.qcow2'    = "qemu-img convert -f raw -O qcow2 -c -o compression_type=zstd '$raw' '{0}'"
    'raw.xz'        = "xz -T1 -3 -c '$raw' > '{0}'"
    'raw.gz'        = "gzip -6 -c '$raw' > '{0}'"
    'raw.zst'       = "zstd -q -3 -c '$raw' > '{0}'"
    'qcow2.xz'      = "xz -T1 -3 -c '$(Join-Path $fixtures "plain-$DiskSize.qcow2")' > '{0}'"
    'stream.vmdk'   = "qemu-img convert -f raw -O vmdk -o subformat=streamOptimized '$raw' '{0}'"
    'sparse.vmdk'   = "qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse '$raw' '{0}'"
    'vmdk.gz'       = "gzip -1 -c '$(Join-Path $fixtures "sparse-$DiskSize.vmdk")' > '{0}'"
    'dynamic.vhd'   = "qemu-img convert -f raw -O vpc -o subformat=dynamic,force_size=on '$raw' '{0}'"
    'dynamic.vhdx'  = "qemu-img convert -f raw -O vhdx -o subformat=dynamic '$raw' '{0}'"
    'dynamic.vdi'   = "qemu-img convert -f raw -O vdi '$raw' '{0}'"
}
foreach ($name in 'plain.qcow2', 'deflate.qcow2', 'zstd.qcow2', 'raw.xz', 'raw.gz', 'raw.zst', 'qcow2.xz', 'stream.vmdk', 'sparse.vmdk', 'vmdk.gz', 'dynamic.vhd', 'dynamic.vhdx', 'dynamic.vdi') {
    $path = Join-Path $fixtures ($name -replace '^(\w+)\.', "`$1-$DiskSize.")
    if (-not (Test-Path $path)) {
        Write-Host "  $name"
        Invoke-Tool ($made[$name] -f "$path.partial")
        Move-Item "$path.partial" $path
    }
}

function Fixture([string] $Name) { Join-Path $fixtures ($Name -replace '^(\w+)\.', "`$1-$DiskSize.") }

# Like for like: both sides write to the same file system and end with the disk on stable
# storage (we flush before the rename; qemu-img's default output cache, unsafe, flushes nothing,
# so it runs with -t writeback, which fdatasyncs at the end, and with -W, out-of-order writes,
# its fastest setting; the decompressors are followed by sync --data on their output).
$qemu = "qemu-img convert -t writeback -W -m 8 -O raw"
$synced = "&& sync --data '{1}'"
$cases = @(
    @{ Case = 'qcow2 plain'; Input = Fixture 'plain.qcow2'; Peer = 'qemu-img convert'; PeerCommand = "$qemu '{0}' '{1}'" }
    @{ Case = 'qcow2 deflate'; Input = Fixture 'deflate.qcow2'; Peer = 'qemu-img convert'; PeerCommand = "$qemu '{0}' '{1}'" }
    @{ Case = 'qcow2 zstd'; Input = Fixture 'zstd.qcow2'; Peer = 'qemu-img convert'; PeerCommand = "$qemu '{0}' '{1}'" }
    @{ Case = 'raw.xz'; Input = Fixture 'raw.xz'; Peer = 'xz -dc'; PeerCommand = "xz -T0 -dc '{0}' > '{1}' $synced" }
    @{ Case = 'raw.gz'; Input = Fixture 'raw.gz'; Peer = 'gzip -dc'; PeerCommand = "gzip -dc '{0}' > '{1}' $synced" }
    @{ Case = 'raw.zst'; Input = Fixture 'raw.zst'; Peer = 'zstd -dc'; PeerCommand = "zstd -q -dc '{0}' > '{1}' $synced" }
    @{ Case = 'qcow2.xz'; Input = Fixture 'qcow2.xz'; Peer = 'CDI: xz -dc + qemu-img'; PeerCommand = "xz -T0 -dc '{0}' > '{1}.scratch' && $qemu '{1}.scratch' '{1}' && rm '{1}.scratch'" }
    @{ Case = 'vmdk streamOptimized'; Input = Fixture 'stream.vmdk'; Peer = 'qemu-img convert'; PeerCommand = "$qemu '{0}' '{1}'" }
    @{ Case = 'vmdk monolithicSparse'; Input = Fixture 'sparse.vmdk'; Peer = 'qemu-img convert'; PeerCommand = "$qemu '{0}' '{1}'" }
    @{ Case = 'vmdk.gz'; Input = Fixture 'vmdk.gz'; Peer = 'CDI: gzip -dc + qemu-img'; PeerCommand = "gzip -dc '{0}' > '{1}.scratch' && $qemu '{1}.scratch' '{1}' && rm '{1}.scratch'" }
    @{ Case = 'vhd dynamic'; Input = Fixture 'dynamic.vhd'; Peer = 'qemu-img convert'; PeerCommand = "qemu-img convert -t writeback -W -m 8 -f vpc -O raw '{0}' '{1}'" }
    @{ Case = 'vhdx dynamic'; Input = Fixture 'dynamic.vhdx'; Peer = 'qemu-img convert'; PeerCommand = "$qemu '{0}' '{1}'" }
    @{ Case = 'vdi dynamic'; Input = Fixture 'dynamic.vdi'; Peer = 'qemu-img convert'; PeerCommand = "$qemu '{0}' '{1}'" }
) | Where-Object { $name = $_.Case; @($Only | Where-Object { $name -like $_ }).Count -gt 0 }

# Each of our conversions runs in a fresh pwsh, as a user would run it, so its peak working set
# is its own; the time is taken inside, around Import-CdiImage alone.
$ourScript = Join-Path $Work 'ours.ps1'
@'
param($Module, $In, $Out)
Import-Module $Module
$clock = [Diagnostics.Stopwatch]::StartNew()
$result = Import-CdiImage -LiteralPath $In -DestinationPath $Out -Force -PassThru
$clock.Stop()
[pscustomobject]@{ Seconds = $clock.Elapsed.TotalSeconds; FlushSeconds = $result.FlushDuration.TotalSeconds; PeakMiB = [Diagnostics.Process]::GetCurrentProcess().PeakWorkingSet64 / 1MB; Scratch = $result.ScratchBytes; Kept = $result.KeptBytes } | ConvertTo-Json -Compress
'@ | Set-Content $ourScript

function Measure-Ours([string] $In, [string] $Out) { Invoke-FreshPwsh $ourScript @($env:CDITOOLS_MODULE, $In, $Out) }

# The floor: copying the raw disk itself, holes kept and flushed, on the same file system, in
# the same run. No converter can write the same disk faster than this.
$floorOut = Join-Path $outputs 'floor.raw'
$floorCommand = "cp --sparse=always '$raw' '$floorOut' && sync --data '$floorOut'"
$null = Measure-Peer $floorCommand
$floorSeconds = Get-Median @(1..$Repeat | ForEach-Object { Remove-Item $floorOut -ErrorAction SilentlyContinue; Measure-Peer $floorCommand })
Remove-Item $floorOut -ErrorAction SilentlyContinue

$rows = foreach ($case in $cases) {
    $oursOut = Join-Path $outputs 'ours.raw'
    $peerOut = Join-Path $outputs 'peer.raw'
    $peerCommand = $case.PeerCommand -f $case.Input, $peerOut
    $image = $case.Input
    $runs = Measure-Pair -Ours { Measure-Ours $image $oursOut } -PeerCommand $peerCommand -Repeat $Repeat `
        -BeforeEach { Remove-Item $oursOut, $peerOut -ErrorAction SilentlyContinue }
    $ours = $runs.Ours; $peer = $runs.Peer

    $oursSeconds = Get-Median $ours.Seconds
    $peerSeconds = Get-Median $peer
    [pscustomobject]@{
        Case        = $case.Case
        Peer        = $case.Peer
        PeerSeconds = [math]::Round($peerSeconds, 2)
        OurSeconds  = [math]::Round($oursSeconds, 2)
        Ratio       = [math]::Round($oursSeconds / $peerSeconds, 2)
        OverFloor   = [math]::Round($oursSeconds / $floorSeconds, 2)
        OurFlush    = [math]::Round((Get-Median $ours.FlushSeconds), 2)
        OurPeakMiB  = [math]::Round(($ours.PeakMiB | Measure-Object -Maximum).Maximum)
        ScratchMiB  = [math]::Round(($ours.Scratch | Measure-Object -Maximum).Maximum / 1MB, 1)
        KeptMiB     = [math]::Round(($ours.Kept | Measure-Object -Maximum).Maximum / 1MB, 1)
    }
    Remove-Item $oursOut, $peerOut -ErrorAction SilentlyContinue
}

# The floor's row has every column, so the table shows them all.
$floor = [pscustomobject]@{ Case = 'floor'; Peer = 'cp --sparse=always + sync'; PeerSeconds = [math]::Round($floorSeconds, 2); OurSeconds = $null; Ratio = $null; OverFloor = $null; OurFlush = $null; OurPeakMiB = $null; ScratchMiB = $null; KeptMiB = $null }
$rows = @($floor) + @($rows)
$rows | Format-Table -AutoSize | Out-String -Width 200 | Out-Host
$rows | ConvertTo-Json | Set-Content (Join-Path $Work 'convert-bench.json')
$baseline = & ([Environment]::ProcessPath) @(if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' }) -NoProfile -Command "Import-Module '$env:CDITOOLS_MODULE'; [Diagnostics.Process]::GetCurrentProcess().PeakWorkingSet64 / 1MB"
Write-Host ("Peak working set of a pwsh that only imports the module: {0:N0} MiB (included in OurPeakMiB)." -f [double]($baseline | Select-Object -Last 1))
Write-Host ("Ratio is our median time over the peer's, {0} runs each after a warm-up; below 1.0 is faster. OverFloor is ours over the floor's; OurFlush is the part of our time spent flushing (included)." -f $Repeat)
$slower = @($rows | Where-Object Ratio -GT 1.0)
if ($slower) { Write-Host "Slower than the peer: $($slower.Case -join ', ')" -ForegroundColor Yellow }
