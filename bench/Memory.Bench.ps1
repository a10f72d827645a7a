<#
.SYNOPSIS
    Import-CdiImage's peak working set, pwsh included, for every format it converts, on a small
    fully written disk and on a large sparse one, each read both ways the engine reads: at random
    offsets (the image file itself) and forward only (the same file in gzip -1).
.DESCRIPTION
    The disks are the mixed disk of Convert.Bench.ps1 (DiskSize, 2 GiB: data all over it) and a
    sparse disk (SparseSize, 64 GiB, holding 64 MiB of random data in 1 MiB pieces spread over
    it), so the table shows whether memory grows with the disk's data or with its virtual size
    (the formats' tables grow with it). qemu-img convert makes each format from the raw disk,
    skipping its holes, so the 64 GiB images cost about their 64 MiB of data; gzip -1 of each
    makes the forward-only input. The fixtures are made once under out/bench, sharing the mixed
    ones with Convert.Bench.ps1.
    Each conversion runs in a fresh pwsh, as a user would run it, and writes a real file (sparse,
    deleted after the run); the peak is that process's PeakWorkingSet64, the most it held at
    once, so it includes pwsh and the module (the working set of a pwsh that only imports the
    module is printed too). Rows above TargetMiB are marked. Access is the way the engine says it
    read the image, to show that the gzip -1 rows were read forward.
    build.ps1 Bench runs it with CDITOOLS_MODULE set to the built module.
#>
param(
    # The mixed disk's size, as in Convert.Bench.ps1, whose fixtures it shares.
    [long] $DiskSize = 2GB,
    # The sparse disk's virtual size; it holds 64 MiB of data whatever its size.
    [long] $SparseSize = 64GB,
    # Which disks: mixed, sparse, or both.
    [string[]] $Disk = @('mixed', 'sparse'),
    # Only the images whose name matches one of these wildcards ('vmdk*', 'qcow2 plain', '* in gzip -1').
    [string[]] $Only = @('*'),
    # Runs per row; the peak shown is the highest.
    [int] $Repeat = 1,
    # The project's target for the whole process, pwsh included.
    [int] $TargetMiB = 256,
    [string] $Work = (Join-Path $PSScriptRoot '../out/bench')
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'BenchTools.psm1') -Force
$bench = Initialize-Bench -Work $Work -Tools 'qemu-img', 'gzip'
$fixtures = $bench.Fixtures
$outputs = $bench.Outputs
$machine = $bench.Machine

# pwsh -File passes 'a*,b*' as one string.
$Only = @($Only -split ',' | ForEach-Object Trim)
$Disk = @($Disk -split ',' | ForEach-Object Trim)
foreach ($name in $Disk) { if ($name -notin 'mixed', 'sparse') { throw "-Disk takes mixed, sparse or both, not '$name'." } }
function Test-Selected([string] $Image) { @($Only | Where-Object { $Image -like $_ }).Count -gt 0 }

function Format-Size([long] $Size) { if ($Size -lt 1GB) { "{0:0.##} MiB" -f ($Size / 1MB) } else { "{0:0.##} GiB" -f ($Size / 1GB) } }

# Each disk: its raw file, how to make it, and where each format's fixture made from it lies
# (the mixed disk's are named as Convert.Bench.ps1 names them, so both scripts share them).
$formats = Get-ImageFormat
$disks = @(
    if ('mixed' -in $Disk) {
        @{ Name = "$(Format-Size $DiskSize) mixed"; Raw = Join-Path $fixtures "mixed-$DiskSize.raw"; New = { param($Path) New-MixedDisk $Path $DiskSize }
            Path = { param($File) Join-Path $fixtures ($File -replace '^(\w+)\.', "`$1-$DiskSize.") } }
    }
    if ('sparse' -in $Disk) {
        @{ Name = "$(Format-Size $SparseSize) sparse"; Raw = Join-Path $fixtures "scattered-$SparseSize.raw"; New = { param($Path) New-ScatteredDisk $Path $SparseSize }
            Path = { param($File) Join-Path $fixtures ($File -replace '^(\w+)\.', "scattered-`$1-$SparseSize.") } }
    }
)

# The rows: each image of each disk, then the same in gzip -1. Their fixtures are made below,
# once, and only for the rows asked for.
$cases = foreach ($base in $disks) {
    $images = [ordered]@{ 'raw' = @{ Path = $base.Raw } }
    foreach ($format in $formats.Keys) { $images[$format] = @{ Path = & $base.Path $formats[$format].File; Options = $formats[$format].Options } }
    foreach ($image in $images.Keys) {
        foreach ($gzip in $false, $true) {
            $name = if ($gzip) { "$image in gzip -1" } else { $image }
            if (Test-Selected $name) {
                @{ Disk = $base; Image = $name; Source = $images[$image]; Input = if ($gzip) { "$($images[$image].Path).gz" } else { $images[$image].Path } }
            }
        }
    }
}
if (-not $cases) { throw "No image matches -Only $($Only -join ', ')." }

foreach ($case in $cases) {
    $base = $case.Disk
    if (-not (Test-Path $base.Raw)) {
        Write-Host "Making the $($base.Name) disk (once)..."
        & $base.New "$($base.Raw).partial"
        Move-Item "$($base.Raw).partial" $base.Raw
    }
    $source = $case.Source
    if (-not (Test-Path $source.Path)) {
        Write-Host "  $($base.Name): $([IO.Path]::GetFileName($source.Path))"
        Invoke-Tool "qemu-img convert -f raw $($source.Options) '$($base.Raw)' '$($source.Path).partial'"
        Move-Item "$($source.Path).partial" $source.Path
    }
    if (-not (Test-Path $case.Input)) {
        Write-Host "  $($base.Name): $([IO.Path]::GetFileName($case.Input))"
        Invoke-Tool "gzip -1 -c '$($source.Path)' > '$($case.Input).partial'"
        Move-Item "$($case.Input).partial" $case.Input
    }
}

# What the sparse disk's fixtures cost, since they stand for a 64 GiB disk each: they should take
# about their data, not their virtual size.
$sparseInputs = @($cases | Where-Object { $_.Disk.Name -like '* sparse' } | ForEach-Object { $_.Disk.Raw; $_.Source.Path; $_.Input } | Sort-Object -Unique)
if ($sparseInputs) {
    $allocated = ($sparseInputs | ForEach-Object { Get-AllocatedBytes $_ } | Measure-Object -Sum).Sum
    Write-Host ("The sparse disk's fixtures of these rows take {0:N0} MiB on disk ({1} files)." -f ($allocated / 1MB), $sparseInputs.Count)
}

$ourScript = Join-Path $Work 'memory.ps1'
@'
param($Module, $In, $Out)
Import-Module $Module
$result = Import-CdiImage -LiteralPath $In -DestinationPath $Out -Force -PassThru
[pscustomobject]@{ Seconds = $result.Seconds; PeakMiB = [Diagnostics.Process]::GetCurrentProcess().PeakWorkingSet64 / 1MB; Kept = $result.KeptBytes; Scratch = $result.ScratchBytes; RandomAccess = $result.RandomAccess; Layers = $result.Layers; Allocated = $result.AllocatedBytes } | ConvertTo-Json -Compress
'@ | Set-Content $ourScript

$out = Join-Path $outputs 'memory.raw'
$rows = foreach ($case in $cases) {
    $runs = @(for ($i = 0; $i -lt $Repeat; $i++) {
            Remove-Item $out -ErrorAction SilentlyContinue
            try { Invoke-FreshPwsh $ourScript @($env:CDITOOLS_MODULE, $case.Input, $out) }
            finally { Remove-Item $out -ErrorAction SilentlyContinue }
        })
    $peak = [long][math]::Round(($runs.PeakMiB | Measure-Object -Maximum).Maximum)
    [pscustomobject]@{
        Disk       = $case.Disk.Name
        Image      = $case.Image
        Layers     = $runs[0].Layers
        Access     = if ($runs[0].RandomAccess) { 'random' } else { 'forward' }
        PeakMiB    = $peak
        Target     = if ($peak -gt $TargetMiB) { "above $TargetMiB" } else { 'ok' }
        KeptMiB    = [math]::Round(($runs.Kept | Measure-Object -Maximum).Maximum / 1MB, 1)
        ScratchMiB = [math]::Round(($runs.Scratch | Measure-Object -Maximum).Maximum / 1MB, 1)
        Seconds    = [math]::Round(($runs.Seconds | Measure-Object -Maximum).Maximum, 2)
        WrittenMiB = [math]::Round($runs[0].Allocated / 1MB)
    }
}

$baseline = Get-ModuleOnlyPeakMiB $env:CDITOOLS_MODULE
$rows | Format-Table -Property * -AutoSize | Out-String -Width 220 | Out-Host
[pscustomobject]@{ Machine = $machine; Repeat = $Repeat; DiskSize = $DiskSize; SparseSize = $SparseSize; TargetMiB = $TargetMiB; ModuleOnlyPeakMiB = [math]::Round($baseline); Rows = $rows } | ConvertTo-Json -Depth 4 | Set-Content (Join-Path $Work 'memory-bench.json')
Write-Host ("Peak working set of a pwsh that only imports the module: {0:N0} MiB (included in PeakMiB)." -f $baseline)
Write-Host ("PeakMiB is the highest PeakWorkingSet64 of the pwsh that ran the conversion, over {0} run(s); the target is at most {1} MiB. Access is how the engine read the image; KeptMiB is data held because it came before its table; WrittenMiB is what the output took on disk." -f $Repeat, $TargetMiB)
$above = @($rows | Where-Object PeakMiB -GT $TargetMiB)
if ($above) { Write-Host "Above $TargetMiB MiB: $(($above | ForEach-Object { "$($_.Disk) $($_.Image) ($($_.PeakMiB) MiB)" }) -join ', ')" -ForegroundColor Yellow }
