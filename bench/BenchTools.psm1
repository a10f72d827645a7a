# What the benchmark scripts share: running the peers' shell commands and timing them, running
# our side in a fresh pwsh (so its working set is its own), and the median of the runs.

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
    # alternating; BeforeEach clears what a run left. Returns our runs' objects and the peer's seconds.
    param([scriptblock] $Ours, [string] $PeerCommand, [int] $Repeat, [scriptblock] $BeforeEach = {})
    $null = & $Ours
    $null = Measure-Peer $PeerCommand
    $oursRuns = @(); $peerRuns = @()
    for ($i = 0; $i -lt $Repeat; $i++) {
        & $BeforeEach
        $oursRuns += & $Ours
        $peerRuns += Measure-Peer $PeerCommand
    }

    [pscustomobject]@{ Ours = $oursRuns; Peer = $peerRuns }
}

function Get-Median([double[]] $Values) { ($Values | Sort-Object)[[math]::Floor($Values.Count / 2)] }

function Invoke-FreshPwsh {
    # Started the way this session was (as a dotnet tool or natively); returns the JSON line the script printed last.
    param([string] $Script, [string[]] $Arguments)
    $json = & ([Environment]::ProcessPath) @(if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' }) -NoProfile -File $Script @Arguments
    if ($LASTEXITCODE) { throw "$Script failed on $($Arguments -join ' ')." }
    $json | Select-Object -Last 1 | ConvertFrom-Json
}

Export-ModuleMember -Function Invoke-Tool, Measure-Peer, Measure-Pair, Get-Median, Invoke-FreshPwsh
