# What the benchmark scripts share: running the peers' shell commands and timing them, running
# our side in a fresh pwsh (so its working set is its own), the median of the runs, the disks the
# fixtures are made from, and the line that says which machine the figures come from.

function Invoke-Tool([string] $Command) {
    & /bin/sh -c $Command
    if ($LASTEXITCODE) { throw "'$Command' failed with exit code $LASTEXITCODE." }
}

function Measure-Peer([string] $Command) {
    $clock = [Diagnostics.Stopwatch]::StartNew()
    Invoke-Tool $Command
    $clock.Elapsed.TotalSeconds
}

function Measure-Pair {
    # One warm-up run of each side, so both read from the page cache, then Repeat runs of each,
    # alternating; BeforeEach clears what a run left. Several peer commands share our runs (one
    # image compared with two ways of decompressing it costs our side once). Returns our runs'
    # objects, the first peer's seconds (Peer) and every peer's seconds in command order (Peers).
    param([scriptblock] $Ours, [string[]] $PeerCommand, [int] $Repeat, [scriptblock] $BeforeEach = {})
    $null = & $Ours
    foreach ($command in $PeerCommand) { $null = Measure-Peer $command }
    $oursRuns = @()
    $peerRuns = [Collections.Generic.List[double][]]::new($PeerCommand.Count)
    for ($p = 0; $p -lt $PeerCommand.Count; $p++) { $peerRuns[$p] = [Collections.Generic.List[double]]::new() }
    for ($i = 0; $i -lt $Repeat; $i++) {
        & $BeforeEach
        $oursRuns += & $Ours
        for ($p = 0; $p -lt $PeerCommand.Count; $p++) { $peerRuns[$p].Add((Measure-Peer $PeerCommand[$p])) }
    }

    [pscustomobject]@{ Ours = $oursRuns; Peer = $peerRuns[0].ToArray(); Peers = @($peerRuns | ForEach-Object { , $_.ToArray() }) }
}

function Get-Median([double[]] $Values) { ($Values | Sort-Object)[[math]::Floor($Values.Count / 2)] }

function Invoke-FreshPwsh {
    # Started the way this session was (as a dotnet tool or natively); returns the JSON line the script printed last.
    param([string] $Script, [string[]] $Arguments)
    $json = & ([Environment]::ProcessPath) @(if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' }) -NoProfile -File $Script @Arguments
    if ($LASTEXITCODE) { throw "$Script failed on $($Arguments -join ' ')." }
    $json | Select-Object -Last 1 | ConvertFrom-Json
}

function Get-ModuleOnlyPeakMiB([string] $Module) {
    # What pwsh itself and the module's loading cost, which every one of our peaks includes.
    $peak = & ([Environment]::ProcessPath) @(if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' }) -NoProfile -Command "Import-Module '$Module'; [Diagnostics.Process]::GetCurrentProcess().PeakWorkingSet64 / 1MB"
    [double]($peak | Select-Object -Last 1)
}

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

function New-ScatteredDisk([string] $Path, [long] $Size, [long] $DataSize = 64MB) {
    # A large disk that is mostly holes, as a freshly installed cloud image is: DataSize of random
    # data in 1 MiB pieces, one somewhere in each equal stretch of the disk (on a 64 KiB boundary,
    # so pieces straddle the formats' larger blocks now and then). Only the pieces are written, so
    # making a 64 GiB disk costs its 64 MiB, and the file stays sparse.
    $pieces = [int]($DataSize / 1MB)
    $stride = [long][math]::Floor($Size / $pieces / 64KB) * 64KB
    if ($stride -lt 1MB) { throw "A $Size-byte disk cannot hold $pieces pieces of 1 MiB apart." }
    $random = [Random]::new(2025)
    $block = [byte[]]::new(1MB)
    $file = [IO.FileStream]::new($Path, [IO.FileMode]::CreateNew, [IO.FileAccess]::Write)
    try {
        $file.SetLength($Size)
        for ($i = 0; $i -lt $pieces; $i++) {
            $file.Position = $i * $stride + [long]$random.Next([int](($stride - 1MB) / 64KB) + 1) * 64KB
            $random.NextBytes($block)
            $file.Write($block, 0, $block.Length)
        }
    }
    finally { $file.Dispose() }
}

function Get-AllocatedBytes([string] $Path) {
    # What the file really takes on disk (holes take nothing), to check a fixture stayed sparse.
    $blocks, $blockSize = (& stat -c '%b %B' -- $Path) -split ' '
    [long]$blocks * [long]$blockSize
}

function Get-ImageFormat {
    # The images made from a raw disk with qemu-img convert, which skips the raw disk's holes, by
    # the name their case has in the tables: the fixture's name and qemu-img's output options.
    [ordered]@{
        'qcow2 plain'           = @{ File = 'plain.qcow2'; Options = '-O qcow2' }
        'qcow2 deflate'         = @{ File = 'deflate.qcow2'; Options = '-O qcow2 -c' }
        'qcow2 zstd'            = @{ File = 'zstd.qcow2'; Options = '-O qcow2 -c -o compression_type=zstd' }
        'vmdk streamOptimized'  = @{ File = 'stream.vmdk'; Options = '-O vmdk -o subformat=streamOptimized' }
        'vmdk monolithicSparse' = @{ File = 'sparse.vmdk'; Options = '-O vmdk -o subformat=monolithicSparse' }
        'vhd dynamic'           = @{ File = 'dynamic.vhd'; Options = '-O vpc -o subformat=dynamic,force_size=on' }
        'vhdx dynamic'          = @{ File = 'dynamic.vhdx'; Options = '-O vhdx -o subformat=dynamic' }
        'vdi dynamic'           = @{ File = 'dynamic.vdi'; Options = '-O vdi' }
    }
}

function Measure-MemoryCopy {
    # The machine's memory bandwidth as managed code sees it, in the same run as the figures it
    # qualifies (a busy or throttled host shows here too): the best of 10 copies of a 256 MiB
    # buffer into another, in GB/s of bytes copied (each is read once and written once, so the
    # memory bus moves twice that). Array.Copy of byte arrays is the memmove Span.CopyTo runs;
    # pwsh cannot hold a Span. The source is filled first: untouched pages would all read from
    # the one shared zero page and flatter the figure.
    $source = [byte[]]::new(256MB)
    $target = [byte[]]::new(256MB)
    [Array]::Fill($source, [byte]0x5A)
    $best = [double]::MaxValue
    for ($i = 0; $i -lt 10; $i++) {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        [Array]::Copy($source, $target, $source.Length)
        $best = [math]::Min($best, $clock.Elapsed.TotalSeconds)
    }
    $source.Length / $best / 1e9
}

function Get-BenchMachine([string] $Path) {
    # Which machine the figures come from, and the file system the fixtures and outputs are on.
    $cpu = (Get-Content /proc/cpuinfo | Where-Object { $_ -like 'model name*' } | Select-Object -First 1) -replace '^[^:]*:\s*', ''
    $memoryKiB = [long]((Get-Content /proc/meminfo | Where-Object { $_ -like 'MemTotal:*' }) -replace '\D', '')
    [pscustomobject]@{
        Cpu            = $cpu
        Cores          = [Environment]::ProcessorCount
        MemoryGiB      = [math]::Round($memoryKiB / 1MB, 1)
        Kernel         = (Get-Content /proc/sys/kernel/osrelease -Raw).Trim()
        # findmnt names ext4 as such; stat -f gives the superblock magic ext2, ext3 and ext4 share.
        FileSystem     = if (Get-Command findmnt -CommandType Application -ErrorAction SilentlyContinue) { (& findmnt -n -o FSTYPE -T $Path) } else { (& stat -f -c %T -- $Path) }
        MemoryCopyGBps = [math]::Round((Measure-MemoryCopy), 1)
    }
}

function Format-BenchMachine([object] $Machine, [string] $PathName) {
    "Machine: {0}, {1} cores, {2} GiB, Linux {3}, {4} on {5}, memory copy {6} GB/s (best of 10 copies of 256 MiB)." -f
        $Machine.Cpu, $Machine.Cores, $Machine.MemoryGiB, $Machine.Kernel, $PathName, $Machine.FileSystem, $Machine.MemoryCopyGBps
}

function Initialize-Bench {
    # What every benchmark script starts with: the module to time, the tools its peers need, the
    # fixtures and outputs folders, and the machine, printed first so every table says where it
    # comes from. Returns the folders and the machine.
    param([string] $Work, [string[]] $Tools)
    if (-not $env:CDITOOLS_MODULE) { throw "CDITOOLS_MODULE is not set; run it through 'build.ps1 Bench'." }
    foreach ($tool in $Tools) {
        if (-not (Get-Command $tool -CommandType Application -ErrorAction SilentlyContinue)) { throw "The benchmark needs $tool." }
    }

    # The folders come first: the machine line names the file system they are on.
    $fixtures = Join-Path $Work 'fixtures'
    $outputs = Join-Path $Work 'outputs'
    New-Item -ItemType Directory $fixtures, $outputs -Force | Out-Null
    $folders = [pscustomobject]@{ Fixtures = $fixtures; Outputs = $outputs; Machine = Get-BenchMachine $Work }
    Write-Host (Format-BenchMachine $folders.Machine 'out/bench')
    $folders
}

Export-ModuleMember -Function Initialize-Bench, Invoke-Tool, Measure-Peer, Measure-Pair, Get-Median, Invoke-FreshPwsh, Get-ModuleOnlyPeakMiB,
    New-MixedDisk, New-ScatteredDisk, Get-AllocatedBytes, Get-ImageFormat, Measure-MemoryCopy, Get-BenchMachine, Format-BenchMachine
