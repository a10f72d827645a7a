# Helpers for the Pester suite. Imported by each *.Tests.ps1 file in BeforeAll.

function Invoke-FreshPwsh {
    <#
    .SYNOPSIS
        Runs a script in a new pwsh process and returns its exit code and output.
    .DESCRIPTION
        Binary modules cannot be unloaded, so tests about what a session has loaded need their own
        process. The child is started the way this session was (as a dotnet tool or natively).
        With -TraceCalls, it runs under strace (every thread, paths of file descriptors shown),
        which writes the system calls named to -TraceLog, one per line in the order they started.
    #>
    param(
        [Parameter(Mandatory)] [string] $Script,
        [hashtable] $Environment = @{},
        [string[]] $TraceCalls,
        [string] $TraceLog
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
        if ($TraceCalls) {
            $arguments = @('-f', '-qq', '-y', '-e', "trace=$($TraceCalls -join ',')", '-o', $TraceLog, $host_) + $arguments
            $host_ = 'strace'
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

function Start-FakeCluster {
    <#
    .SYNOPSIS
        Starts the fake Kubernetes API server (tests/CdiTools.FakeCluster) seeded from a scenario.
    .DESCRIPTION
        Returns an object with the kubeconfig it wrote, its base URI and token, and the process;
        pass it to Stop-FakeCluster. The scenario is the JSON form of FakeClusterScenario
        (storageClasses, storageProfiles, cdi, hyperConverged, objects, denials).
        With -Internet, the same process serves the public hosts that examples name from that
        folder (FakeInternet), through the HTTPS proxy in InternetProxy, whose certificates chain
        to the CA in InternetCaFile.
    #>
    param(
        [Parameter(Mandatory)] [hashtable] $Scenario,
        [string] $Namespace,
        [string] $Internet
    )
    if (-not $env:CDITOOLS_FAKECLUSTER) { throw 'CDITOOLS_FAKECLUSTER is not set; run the suite through build.ps1 Test.' }
    $folder = Join-Path ([IO.Path]::GetTempPath()) "cditools-cluster-$([guid]::NewGuid().ToString('n'))"
    New-Item -ItemType Directory $folder | Out-Null
    $scenarioFile = Join-Path $folder 'scenario.json'
    $Scenario | ConvertTo-Json -Depth 20 | Set-Content $scenarioFile
    $kubeconfig = Join-Path $folder 'kubeconfig'

    $start = [Diagnostics.ProcessStartInfo]::new('dotnet')
    foreach ($argument in @($env:CDITOOLS_FAKECLUSTER, '--kubeconfig', $kubeconfig, '--scenario', $scenarioFile)) { $start.ArgumentList.Add($argument) }
    if ($Namespace) { $start.ArgumentList.Add('--namespace'); $start.ArgumentList.Add($Namespace) }
    $internetCa = Join-Path $folder 'internet-ca.pem'
    if ($Internet) { foreach ($argument in @('--internet', $Internet, '--internet-ca', $internetCa)) { $start.ArgumentList.Add($argument) } }
    $start.RedirectStandardInput = $true
    $start.RedirectStandardOutput = $true
    $start.RedirectStandardError = $true
    $start.UseShellExecute = $false
    $process = [Diagnostics.Process]::Start($start)

    $proxy = $null
    $read = $process.StandardOutput.ReadLineAsync()
    if ($Internet -and $read.Wait([TimeSpan]::FromSeconds(60)) -and "$($read.Result)" -like 'INTERNET *') {
        $proxy = "$($read.Result)" -replace '^INTERNET ', ''
        $read = $process.StandardOutput.ReadLineAsync()
    }
    if (-not $read.Wait([TimeSpan]::FromSeconds(60)) -or "$($read.Result)" -notlike 'READY *') {
        if (-not $process.HasExited) { $process.Kill() }
        throw "The fake cluster did not start: $($read.Result) $($process.StandardError.ReadToEnd())"
    }
    [pscustomobject]@{
        Kubeconfig = $kubeconfig
        Uri        = ("$($read.Result)" -replace '^READY ', '').TrimEnd('/')
        Token      = ((Get-Content $kubeconfig -Raw) -match 'token: (\S+)') ? $Matches[1] : $null
        Folder     = $folder
        Process    = $process
        InternetProxy  = $proxy
        InternetCaFile = $Internet ? $internetCa : $null
    }
}

function Stop-FakeCluster {
    # Closing its standard input is the fake's signal to stop.
    param([Parameter(Mandatory)] $Cluster)
    $Cluster.Process.StandardInput.Close()
    if (-not $Cluster.Process.WaitForExit(10000)) { $Cluster.Process.Kill() }
    Remove-Item $Cluster.Folder -Recurse -Force -ErrorAction SilentlyContinue
}

function Invoke-FakeCluster {
    <#
    .SYNOPSIS
        Calls the fake cluster's API directly, not through the module, to see what really changed.
    #>
    param(
        [Parameter(Mandatory)] $Cluster,
        [Parameter(Mandatory)] [string] $Path,
        [string] $Method = 'GET',
        [string] $Body,
        [string] $ContentType = 'application/merge-patch+json'
    )
    $request = @{
        Uri                  = "$($Cluster.Uri)$Path"
        Method               = $Method
        Headers              = @{ Authorization = "Bearer $($Cluster.Token)" }
        SkipCertificateCheck = $true
    }
    if ($Body) { $request.Body = $Body; $request.ContentType = $ContentType }
    Invoke-RestMethod @request
}

Export-ModuleMember -Function Invoke-FreshPwsh, Get-JsonResult, Start-FakeCluster, Stop-FakeCluster, Invoke-FakeCluster
