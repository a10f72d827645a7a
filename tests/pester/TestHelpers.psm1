# Helpers for the Pester suite. Imported by each *.Tests.ps1 file in BeforeAll.

function Invoke-FreshPwsh {
    <#
    .SYNOPSIS
        Runs a script in a new pwsh process and returns its exit code and output.
    .DESCRIPTION
        Binary modules cannot be unloaded, so tests about what a session has loaded need their own
        process. The child is started the way this session was (as a dotnet tool or natively).
    #>
    param(
        [Parameter(Mandatory)] [string] $Script,
        [hashtable] $Environment = @{}
    )
    $file = Join-Path ([IO.Path]::GetTempPath()) "cditools-$([guid]::NewGuid().ToString('n')).ps1"
    Set-Content -Path $file -Value $Script
    $saved = @{}
    foreach ($name in $Environment.Keys) {
        $saved[$name] = [Environment]::GetEnvironmentVariable($name)
        [Environment]::SetEnvironmentVariable($name, $Environment[$name])
    }
    try {
        $host_ = [Environment]::ProcessPath
        $arguments = @('-NoProfile', '-NonInteractive', '-File', $file)
        if ([IO.Path]::GetFileNameWithoutExtension($host_) -eq 'dotnet') {
            $arguments = @(Join-Path $PSHOME 'pwsh.dll') + $arguments
        }
        $output = & $host_ @arguments 2>&1 | ForEach-Object { "$_" }
        [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = $output -join "`n" }
    }
    finally {
        foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
        Remove-Item $file -ErrorAction SilentlyContinue
    }
}

function Get-JsonResult {
    # The last line a child wrote that parses as JSON: children print diagnostics before it.
    param([Parameter(Mandatory)] $Run)
    $line = ($Run.Output -split "`n" | Where-Object { $_ -like '{*' } | Select-Object -Last 1)
    if (-not $line) { throw "The child pwsh wrote no JSON result (exit code $($Run.ExitCode)):`n$($Run.Output)" }
    $line | ConvertFrom-Json
}

Export-ModuleMember -Function Invoke-FreshPwsh, Get-JsonResult
