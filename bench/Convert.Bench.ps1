<#
.SYNOPSIS
    Import-CdiImage against its peers, measured in the same run: qemu-img convert for qcow2 (plain,
    deflate- and zstd-compressed), vmdk (stream-optimized and monolithic sparse), vhd, vhdx and vdi,
    xz/gzip/zstd -dc for wrapped raw, CDI's two-step path for qcow2.xz, vmdk.xz and a gzipped
    vmdk (the decompressor to a scratch file, then qemu-img convert; for the xz ones also the
    decompressor alone, their floor), and qemu-img for a large sparse raw disk and a fixed VHD of it. Two floors, cp --sparse=always of the mixed and of the sparse raw
    disk, are timed in the same run. Every side ends with its output flushed to stable storage, on
    the same file system.
.DESCRIPTION
    Builds a mixed disk (DiskSize, random, zero, text and sparse regions) and a sparse disk
    (SparseSize, 64 MiB of random data in 1 MiB pieces spread over holes) once under out/bench,
    makes the fixtures from them, then times each case Repeat times (after one warm-up run, so
    both sides read from the page cache) and prints, for each case and peer: the median time of
    each side, the ratio ours/peer (below 1.0 means faster), ours over the floor of the disk the
    case was made from (Floor names it), Spread (our slowest run over our fastest: how steady we
    are), our peak working set (a fresh pwsh per conversion, so it includes pwsh's own ~100 MiB)
    and our scratch bytes. The xz cases are compared with xz -T1, which decodes on one core as a
    single-block file allows, and with xz -T0, which uses every core on a multi-block file.
    The first line says which machine it ran on, with a memory bandwidth measured in the run.
    build.ps1 Bench runs it with CDITOOLS_MODULE set to the built module.
#>
param(
    # Five runs, so Spread shows whether our slowest stays within 1.3 times our fastest.
    [int] $Repeat = 5,
    # Only the cases whose name matches one of these wildcards ('vmdk*', 'qcow2 plain', 'raw sparse*').
    [string[]] $Only = @('*'),
    [long] $DiskSize = 2GB,
    # The sparse disk's virtual size; it holds 64 MiB of data whatever its size.
    [long] $SparseSize = 20GB,
    [string] $Work = (Join-Path $PSScriptRoot '../out/bench')
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'BenchTools.psm1') -Force
$bench = Initialize-Bench -Work $Work -Tools 'qemu-img', 'xz', 'gzip', 'zstd'
$fixtures = $bench.Fixtures
$outputs = $bench.Outputs
$machine = $bench.Machine

function Fixture([string] $Name) { Join-Path $fixtures ($Name -replace '^(\w+)\.', "`$1-$DiskSize.") }
# pwsh -File passes 'a*,b*' as one string.
$Only = @($Only -split ',' | ForEach-Object Trim)
function Test-Selected([string] $Case) { @($Only | Where-Object { $Case -like $_ }).Count -gt 0 }

$raw = Join-Path $fixtures "mixed-$DiskSize.raw"
$sparseRaw = Join-Path $fixtures "scattered-$SparseSize.raw"
$sparseVhd = Join-Path $fixtures "scattered-fixed-$SparseSize.vhd"
$sparseName = "{0:0.##} GiB" -f ($SparseSize / 1GB)

# Like for like: both sides write to the same file system and end with the disk on stable
# storage (we flush before the rename; qemu-img's default output cache, unsafe, flushes nothing,
# so it runs with -t writeback, which fdatasyncs at the end, and with -W, out-of-order writes,
# its fastest setting; the decompressors are followed by sync --data on their output).
$qemu = "qemu-img convert -t writeback -W -m 8 -O raw"
$synced = "&& sync --data '{1}'"
$qemuPeer = @{ Peer = 'qemu-img convert'; Command = "$qemu '{0}' '{1}'" }
# The speed target for xz is stated against one thread; -T0 is shown too, since on a
# multi-block file xz decodes on every core.
$xzPeers = @(foreach ($threads in 1, 0) { @{ Peer = "xz -T$threads -dc"; Command = "xz -T$threads -dc '{0}' > '{1}' $synced" } })
$formats = Get-ImageFormat
$cases = @(
    foreach ($format in 'qcow2 plain', 'qcow2 deflate', 'qcow2 zstd') { @{ Case = $format; Input = Fixture $formats[$format].File; Peers = @($qemuPeer) } }
    @{ Case = 'raw.xz'; Input = Fixture 'raw.xz'; Peers = $xzPeers }
    @{ Case = 'raw.xz multi-block'; Input = Fixture 'multiblock.xz'; Peers = $xzPeers }
    @{ Case = 'raw.gz'; Input = Fixture 'raw.gz'; Peers = @(@{ Peer = 'gzip -dc'; Command = "gzip -dc '{0}' > '{1}' $synced" }) }
    @{ Case = 'raw.zst'; Input = Fixture 'raw.zst'; Peers = @(@{ Peer = 'zstd -dc'; Command = "zstd -q -dc '{0}' > '{1}' $synced" }) }
    # The decompressor alone is the floor of a wrapped image: the conversion should hide behind it.
    @{ Case = 'qcow2.xz'; Input = Fixture 'qcow2.xz'; Peers = @(
            @{ Peer = 'CDI: xz -dc + qemu-img'; Command = "xz -T0 -dc '{0}' > '{1}.scratch' && $qemu '{1}.scratch' '{1}' && rm '{1}.scratch'" }
            @{ Peer = 'xz -dc alone'; Command = "xz -T0 -dc '{0}' > '{1}' $synced" }) }
    @{ Case = 'vmdk.xz'; Input = Fixture 'vmdk.xz'; Peers = @(
            @{ Peer = 'CDI: xz -dc + qemu-img'; Command = "xz -T0 -dc '{0}' > '{1}.scratch' && $qemu '{1}.scratch' '{1}' && rm '{1}.scratch'" }
            @{ Peer = 'xz -dc alone'; Command = "xz -T0 -dc '{0}' > '{1}' $synced" }) }
    foreach ($format in 'vmdk streamOptimized', 'vmdk monolithicSparse') { @{ Case = $format; Input = Fixture $formats[$format].File; Peers = @($qemuPeer) } }
    @{ Case = 'vmdk.gz'; Input = Fixture 'vmdk.gz'; Peers = @(@{ Peer = 'CDI: gzip -dc + qemu-img'; Command = "gzip -dc '{0}' > '{1}.scratch' && $qemu '{1}.scratch' '{1}' && rm '{1}.scratch'" }) }
    @{ Case = 'vhd dynamic'; Input = Fixture $formats['vhd dynamic'].File; Peers = @(@{ Peer = 'qemu-img convert'; Command = "qemu-img convert -t writeback -W -m 8 -f vpc -O raw '{0}' '{1}'" }) }
    foreach ($format in 'vhdx dynamic', 'vdi dynamic') { @{ Case = $format; Input = Fixture $formats[$format].File; Peers = @($qemuPeer) } }
    # A large disk that is mostly holes: what matters is how fast the holes are passed over.
    # qemu-img is told the format, since it takes a fixed VHD for raw when it guesses.
    @{ Case = "raw sparse $sparseName"; Input = $sparseRaw; Sparse = $true; Peers = @(@{ Peer = 'qemu-img convert'; Command = "qemu-img convert -t writeback -W -m 8 -f raw -O raw '{0}' '{1}'" }) }
    @{ Case = "vhd fixed sparse $sparseName"; Input = $sparseVhd; Sparse = $true; Peers = @(@{ Peer = 'qemu-img convert'; Command = "qemu-img convert -t writeback -W -m 8 -f vpc -O raw '{0}' '{1}'" }) }
) | Where-Object { Test-Selected $_.Case }
if (-not $cases) { throw "No case matches -Only $($Only -join ', ')." }
$mixedWanted = @($cases | Where-Object { -not $_.Sparse }).Count -gt 0
$sparseWanted = @($cases | Where-Object { $_.Sparse }).Count -gt 0

if ($mixedWanted) {
    if (-not (Test-Path $raw)) {
        Write-Host "Making the $($DiskSize / 1GB) GiB mixed disk and its fixtures (once)..."
        New-MixedDisk "$raw.partial" $DiskSize
        Move-Item "$raw.partial" $raw
    }
    $made = [ordered]@{}
    foreach ($format in $formats.Keys) { $made[$formats[$format].File] = "qemu-img convert -f raw $($formats[$format].Options) '$raw' '{0}'" }
    $made['raw.xz'] = "xz -T1 -3 -c '$raw' > '{0}'"
    # A multi-threaded xz cuts its input into blocks (16 MiB here) so its threads can work apart;
    # a decoder can spread those blocks over cores in the same way.
    $made['multiblock.xz'] = "xz -T2 -3 --block-size=16MiB -c '$raw' > '{0}'"
    $made['raw.gz'] = "gzip -6 -c '$raw' > '{0}'"
    $made['raw.zst'] = "zstd -q -3 -c '$raw' > '{0}'"
    $made['qcow2.xz'] = "xz -T1 -3 -c '$(Fixture 'plain.qcow2')' > '{0}'"
    $made['vmdk.gz'] = "gzip -1 -c '$(Fixture 'sparse.vmdk')' > '{0}'"
    $made['vmdk.xz'] = "xz -T1 -3 -c '$(Fixture 'sparse.vmdk')' > '{0}'"
    foreach ($name in $made.Keys) {
        $path = Fixture $name
        if (-not (Test-Path $path)) {
            Write-Host "  $name"
            Invoke-Tool ($made[$name] -f "$path.partial")
            Move-Item "$path.partial" $path
        }
    }
    # A multi-block file that came out as one block would make the multi-block row say nothing.
    $blocks = [int]((& xz --robot --list (Fixture 'multiblock.xz') | Where-Object { $_ -like "file`t*" }) -split "`t")[2]
    if ($blocks -lt 2) { throw "$(Fixture 'multiblock.xz') has $blocks block; the multi-block case needs several." }
}

if ($sparseWanted) {
    if (-not (Test-Path $sparseRaw)) {
        Write-Host "Making the $sparseName sparse disk and its fixed VHD (once)..."
        New-ScatteredDisk "$sparseRaw.partial" $SparseSize
        Move-Item "$sparseRaw.partial" $sparseRaw
    }
    if (-not (Test-Path $sparseVhd)) {
        Invoke-Tool "qemu-img convert -f raw -O vpc -o subformat=fixed,force_size=on '$sparseRaw' '$sparseVhd.partial'"
        Move-Item "$sparseVhd.partial" $sparseVhd
    }
    # Both must stay sparse: a fully allocated copy would time the disk, not the holes.
    foreach ($path in $sparseRaw, $sparseVhd) {
        if ((Get-AllocatedBytes $path) -gt 128MB) { throw "$path takes $((Get-AllocatedBytes $path) / 1MB) MiB on disk; it should be sparse (64 MiB of data)." }
    }
}

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

# The floors: copying the raw disk a case was made from, holes kept and flushed, on the same file
# system, in the same run. No converter can write the same disk faster than this.
function Measure-Floor([string] $Source) {
    $floorOut = Join-Path $outputs 'floor.raw'
    $floorCommand = "cp --sparse=always '$Source' '$floorOut' && sync --data '$floorOut'"
    Remove-Item $floorOut -ErrorAction SilentlyContinue
    $null = Measure-Peer $floorCommand
    $seconds = Get-Median @(1..$Repeat | ForEach-Object { Remove-Item $floorOut -ErrorAction SilentlyContinue; Measure-Peer $floorCommand })
    Remove-Item $floorOut -ErrorAction SilentlyContinue
    $seconds
}
$floors = [ordered]@{}
if ($mixedWanted) { $floors['floor'] = @{ Source = 'the mixed raw'; Seconds = Measure-Floor $raw } }
if ($sparseWanted) { $floors['floor sparse'] = @{ Source = 'the sparse raw'; Seconds = Measure-Floor $sparseRaw } }

function Round([object] $Value, [int] $Digits = 2) {
    if ($null -eq $Value) { $null } elseif ($Digits -eq 0) { [long][math]::Round([double]$Value) } else { [math]::Round([double]$Value, $Digits) }
}

# Every row has every column, so the table shows them all.
$rows = @(foreach ($name in $floors.Keys) {
        [pscustomobject]@{ Case = $name; Peer = "cp --sparse=always + sync ($($floors[$name].Source))"; PeerSeconds = Round $floors[$name].Seconds; OurSeconds = $null; Ratio = $null; Floor = $null; OverFloor = $null; Spread = $null; OurFlush = $null; OurPeakMiB = $null; ScratchMiB = $null; KeptMiB = $null }
    })
$rows += foreach ($case in $cases) {
    $oursOut = Join-Path $outputs 'ours.raw'
    $peerOuts = @(for ($p = 0; $p -lt $case.Peers.Count; $p++) { Join-Path $outputs "peer-$p.raw" })
    $peerCommands = @(for ($p = 0; $p -lt $case.Peers.Count; $p++) { $case.Peers[$p].Command -f $case.Input, $peerOuts[$p] })
    $image = $case.Input
    $runs = Measure-Pair -Ours { Measure-Ours $image $oursOut } -PeerCommand $peerCommands -Repeat $Repeat `
        -BeforeEach { Remove-Item (@($oursOut) + $peerOuts) -ErrorAction SilentlyContinue }
    $ours = $runs.Ours
    $floor = if ($case.Sparse) { 'floor sparse' } else { 'floor' }

    $oursSeconds = Get-Median $ours.Seconds
    $range = $ours.Seconds | Measure-Object -Minimum -Maximum
    for ($p = 0; $p -lt $case.Peers.Count; $p++) {
        $peerSeconds = Get-Median $runs.Peers[$p]
        [pscustomobject]@{
            Case        = $case.Case
            Peer        = $case.Peers[$p].Peer
            PeerSeconds = Round $peerSeconds
            OurSeconds  = Round $oursSeconds
            Ratio       = Round ($oursSeconds / $peerSeconds)
            Floor       = $floor
            OverFloor   = Round ($oursSeconds / $floors[$floor].Seconds)
            Spread      = Round ($range.Maximum / $range.Minimum)
            OurFlush    = Round (Get-Median $ours.FlushSeconds)
            OurPeakMiB  = Round ($ours.PeakMiB | Measure-Object -Maximum).Maximum 0
            ScratchMiB  = Round (($ours.Scratch | Measure-Object -Maximum).Maximum / 1MB) 1
            KeptMiB     = Round (($ours.Kept | Measure-Object -Maximum).Maximum / 1MB) 1
        }
    }
    Remove-Item (@($oursOut) + $peerOuts) -ErrorAction SilentlyContinue
}

# -Property *: without it Format-Table shows ten columns at most.
$rows | Format-Table -Property * -AutoSize | Out-String -Width 220 | Out-Host
[pscustomobject]@{ Machine = $machine; Repeat = $Repeat; DiskSize = $DiskSize; SparseSize = $SparseSize; Rows = $rows } | ConvertTo-Json -Depth 4 | Set-Content (Join-Path $Work 'convert-bench.json')
Write-Host ("Peak working set of a pwsh that only imports the module: {0:N0} MiB (included in OurPeakMiB)." -f (Get-ModuleOnlyPeakMiB $env:CDITOOLS_MODULE))
Write-Host ("Ratio is our median time over the peer's on that row, {0} runs each after a warm-up; below 1.0 is faster. OverFloor is ours over the floor the Floor column names (the cp of the raw disk the case was made from); Spread is our slowest run over our fastest; OurFlush is the part of our time spent flushing (included)." -f $Repeat)
$slower = @($rows | Where-Object Ratio -GT 1.0)
if ($slower) { Write-Host "Slower than the peer: $(($slower | ForEach-Object { "$($_.Case) (vs $($_.Peer))" }) -join ', ')" -ForegroundColor Yellow }
$unsteady = @($rows | Where-Object Spread -GT 1.3 | Select-Object -ExpandProperty Case -Unique)
if ($unsteady) { Write-Host "Slowest run more than 1.3 times the fastest: $($unsteady -join ', ')" -ForegroundColor Yellow }
