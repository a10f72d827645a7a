#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Builds, tests, demonstrates and packages the CdiTools module.
.DESCRIPTION
    Run it with the PowerShell the repository pins: `dotnet tool restore && dotnet pwsh ./build.ps1 <Task>`.

    Build    (default) lays the module out as out/CdiTools/<version>/.
    Test     builds, runs the xunit suites, then the Pester suite in a fresh pwsh, and ends with
             one line "N passed, N failed". The exit code is 1 when anything failed.
    Demo     builds and shows the main job in a fresh pwsh.
    Bench    builds and runs every bench/*.ps1 script.
    Package  builds and writes out/packages/CdiTools.<version>.nupkg, installable with
             Install-PSResource from a folder repository.
    Clean    removes out/ and every bin/ and obj/ folder.
.PARAMETER Configuration
    The .NET build configuration; Release unless you are debugging.
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'Demo', 'Bench', 'Package', 'Clean')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$Root = $PSScriptRoot
$Out = Join-Path $Root 'out'
$ModuleVersion = (Import-PowerShellDataFile (Join-Path $Root 'CdiTools.psd1')).ModuleVersion
$ModuleDir = Join-Path $Out "CdiTools/$ModuleVersion"
$ModuleManifest = Join-Path $ModuleDir 'CdiTools.psd1'
$ToolPackages = Join-Path $Root 'tools/PowerShellPackages.csproj'

# Commands the tests call, with the Debian package that provides each: qemu-img is the oracle
# for conversions, the others make wrapped fixtures; docker-registry is the real registry the
# container-disk tests pull from, skopeo pushes to it, htpasswd writes its bcrypt users; strace
# shows which files a conversion opens and that it flushes before it renames.
$TestCommands = [ordered]@{
    'qemu-img' = 'qemu-utils'
    'qemu-io'  = 'qemu-utils'
    'xz'       = 'xz-utils'
    'zstd'     = 'zstd'
    'gzip'     = 'gzip'
    'bzip2'    = 'bzip2'
    'tar'      = 'tar'
    'skopeo'   = 'skopeo'
    'docker-registry' = 'docker-registry'
    'htpasswd' = 'apache2-utils'
    'strace'   = 'strace'
}

# Shared libraries the engine loads where the system has them, with their Debian package: the
# tests check that the engine takes them (libdeflate inflates qcow2's compressed clusters).
$TestLibraries = [ordered]@{
    'libdeflate.so.0' = 'libdeflate0'
}

function Invoke-Native {
    # Runs a native command and turns a non-zero exit code into an error.
    param([Parameter(Mandatory)] [string] $Command, [string[]] $Arguments = @())
    & $Command @Arguments
    if ($LASTEXITCODE -ne 0) {
        throw "'$Command $($Arguments -join ' ')' failed with exit code $LASTEXITCODE."
    }
}

function Invoke-ChildPwsh {
    # A fresh pwsh for everything that imports the module: a binary module cannot be unloaded,
    # so each run must start from a clean session. Returns the child's exit code.
    param([Parameter(Mandatory)] [string] $Script, [hashtable] $Environment = @{})
    $saved = @{}
    foreach ($name in $Environment.Keys) {
        $saved[$name] = [Environment]::GetEnvironmentVariable($name)
        [Environment]::SetEnvironmentVariable($name, [string] $Environment[$name])
    }
    try {
        Push-Location $Root
        & dotnet pwsh -NoProfile -NonInteractive -File $Script | Out-Host
        return $LASTEXITCODE
    }
    finally {
        Pop-Location
        foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
    }
}

function Get-ReadyToRunTarget {
    # The portable runtime identifier of this machine (linux-x64, win-arm64, ...), or nothing where
    # .NET has no ready-to-run compiler for it.
    $os = if ($IsWindows) { 'win' } elseif ($IsMacOS) { 'osx' } elseif ($IsLinux) { 'linux' } else { return }
    $architecture = switch ([Runtime.InteropServices.RuntimeInformation]::OSArchitecture) { 'X64' { 'x64' } 'Arm64' { 'arm64' } default { return } }
    "$os-$architecture"
}

function Invoke-Build {
    $publish = Join-Path $Out "publish/$Configuration"
    if (Test-Path $publish) { Remove-Item $publish -Recurse -Force }
    Invoke-Native dotnet @('build', (Join-Path $Root 'CdiPowerShell.sln'), '-c', $Configuration, '--nologo', '-v', 'quiet')
    # The module's assemblies carry ready-to-run code for the platform they are built on, so a fresh
    # pwsh does not spend its first conversion compiling the engine; elsewhere that code is ignored
    # and the IL in the same files runs. No dependency ships platform-specific files, so this
    # publish lays out the same files as a portable one.
    $target = Get-ReadyToRunTarget
    Invoke-Native dotnet @(@('publish', (Join-Path $Root 'src/CdiTools/CdiTools.csproj'), '-c', $Configuration, '--nologo', '-v', 'quiet', '-o', $publish) +
        @(if ($target) { '-r', $target, '--self-contained', 'false', '-p:PublishReadyToRun=true' } else { '--no-build' }))

    if (Test-Path $ModuleDir) { Remove-Item $ModuleDir -Recurse -Force }
    $deps = New-Item -ItemType Directory -Path (Join-Path $ModuleDir 'deps') -Force

    # CdiTools.dll alone sits in the module root and loads into PowerShell's context; everything
    # else goes to deps/ and loads into the module's own context (see DependencyLoadContext).
    foreach ($item in Get-ChildItem $publish) {
        if ($item.Name -in 'CdiTools.dll', 'CdiTools.pdb') {
            Copy-Item $item.FullName $ModuleDir
        }
        elseif ($item.Name -notlike 'CdiTools.deps.json') {
            Copy-Item $item.FullName $deps -Recurse
        }
    }
    Copy-Item (Join-Path $Root 'CdiTools.psd1') $ModuleDir
    Copy-Item (Join-Path $Root 'module/*') $ModuleDir -Recurse
    Write-Host "Module laid out in $([IO.Path]::GetRelativePath($Root, $ModuleDir))"
}

function Restore-ToolPackages {
    # Restores the PowerShell packages of tools/PowerShellPackages.csproj and returns the NuGet
    # global packages folder they are in.
    Invoke-Native dotnet @('restore', $ToolPackages, '--nologo', '-v', 'quiet')
    $line = & dotnet nuget locals global-packages --list
    return ($line -replace '^global-packages:\s*', '').Trim()
}

function Get-PesterModulePath([string] $Packages) {
    [xml] $project = Get-Content $ToolPackages -Raw
    $version = ($project.Project.ItemGroup.PackageDownload | Where-Object Include -EQ 'Pester').Version.Trim('[]')
    $path = Join-Path $Packages "pester/$version/tools/Pester.psd1"
    if (-not (Test-Path $path)) { throw "Pester $version was restored but $path is missing." }
    return $path
}

function Get-TrxCount {
    # Sums the counters of every xunit result file.
    param([string] $Directory)
    $passed = 0; $failed = 0
    $files = @(Get-ChildItem $Directory -Filter '*.trx' -Recurse -ErrorAction SilentlyContinue)
    foreach ($file in $files) {
        [xml] $trx = Get-Content -LiteralPath $file.FullName -Raw
        $counters = $trx.TestRun.ResultSummary.Counters
        $passed += [int] $counters.passed
        $failed += [int] $counters.failed + [int] $counters.error + [int] $counters.timeout + [int] $counters.aborted
    }
    [pscustomobject]@{ Files = $files.Count; Passed = $passed; Failed = $failed }
}

function Install-TestPrerequisites {
    # Installs what the tests need when it is missing, so the README's test command works on a
    # machine that has only the .NET SDK.
    $missing = @($TestCommands.Keys | Where-Object { -not (Get-Command $_ -CommandType Application -ErrorAction SilentlyContinue) })
    # ldconfig lives in /sbin, which a user's PATH may leave out.
    $ldconfig = @((Get-Command ldconfig -CommandType Application -ErrorAction SilentlyContinue).Source) + @('/sbin/ldconfig', '/usr/sbin/ldconfig') | Where-Object { $_ -and (Test-Path $_) } | Select-Object -First 1
    $libraries = if ($IsLinux -and $ldconfig) { (& $ldconfig -p) -join "`n" } else { $null }
    $missingLibraries = @(if ($null -ne $libraries) { $TestLibraries.Keys | Where-Object { $libraries -notmatch [regex]::Escape($_) } })
    if ($missing.Count + $missingLibraries.Count -eq 0) { return }
    $packages = @(@($missing | ForEach-Object { $TestCommands[$_] }) + @($missingLibraries | ForEach-Object { $TestLibraries[$_] }) | Select-Object -Unique)
    $missing += $missingLibraries
    if (-not (Get-Command apt-get -CommandType Application -ErrorAction SilentlyContinue)) {
        throw "The tests need $($missing -join ', ') (packages: $($packages -join ', ')); install them and run again."
    }

    Write-Host "Installing $($packages -join ', ') for the tests" -ForegroundColor Cyan
    $apt = @(if ((& id -u) -eq '0') { 'apt-get' } else { 'sudo'; 'apt-get' })
    $env:DEBIAN_FRONTEND = 'noninteractive'
    Invoke-Native $apt[0] (@($apt | Select-Object -Skip 1) + @('update', '-qq'))
    Invoke-Native $apt[0] (@($apt | Select-Object -Skip 1) + @('install', '-y', '-qq') + $packages)
}

function Invoke-Test {
    Install-TestPrerequisites
    Invoke-Package
    $results = Join-Path $Out 'test-results'
    if (Test-Path $results) { Remove-Item $results -Recurse -Force }
    New-Item -ItemType Directory $results | Out-Null

    $passed = 0; $failed = 0

    Write-Host "`n== xunit ==" -ForegroundColor Cyan
    & dotnet test (Join-Path $Root 'CdiPowerShell.sln') -c $Configuration --no-build --nologo `
        --logger 'trx' --logger 'console;verbosity=normal' --results-directory (Join-Path $results 'xunit')
    $xunitExit = $LASTEXITCODE
    $xunit = Get-TrxCount (Join-Path $results 'xunit')
    $passed += $xunit.Passed; $failed += $xunit.Failed
    $suites = @(Get-ChildItem (Join-Path $Root 'tests') -Filter '*.Tests.csproj' -Recurse).Count
    if ($xunit.Files -lt $suites -or ($xunitExit -ne 0 -and $xunit.Failed -eq 0)) {
        Write-Host "xunit reported $($xunit.Files) of $suites suites (exit code $xunitExit)." -ForegroundColor Red
        $failed += 1
    }

    Write-Host "`n== Pester ==" -ForegroundColor Cyan
    $pesterResult = Join-Path $results 'pester.json'
    $nugetPackages = Restore-ToolPackages
    $exit = Invoke-ChildPwsh -Script (Join-Path $Root 'tests/pester/Invoke-PesterSuite.ps1') -Environment @{
        CDITOOLS_MODULE         = $ModuleManifest
        CDITOOLS_PACKAGES       = Join-Path $Out 'packages'
        CDITOOLS_NUGET_PACKAGES = $nugetPackages
        CDITOOLS_PESTER         = Get-PesterModulePath $nugetPackages
        CDITOOLS_PESTER_RESULT  = $pesterResult
        CDITOOLS_FAKECLUSTER    = Join-Path $Root "tests/CdiTools.FakeCluster/bin/$Configuration/net10.0/CdiTools.FakeCluster.dll"
    }
    if (Test-Path $pesterResult) {
        $pester = Get-Content $pesterResult -Raw | ConvertFrom-Json
        $passed += $pester.Passed; $failed += $pester.Failed
    }
    else {
        Write-Host "Pester wrote no result (exit code $exit)." -ForegroundColor Red
        $failed += 1
    }

    Write-Host ''
    Write-Host "$passed passed, $failed failed"
    if ($failed -gt 0) { exit 1 }
}

function Invoke-Demo {
    Invoke-Build
    $exit = Invoke-ChildPwsh -Script (Join-Path $Root 'tools/Show-Demo.ps1') -Environment @{ CDITOOLS_MODULE = $ModuleManifest }
    if ($exit -ne 0) { throw "The demo failed with exit code $exit." }
}

function Invoke-Bench {
    Invoke-Build
    $scripts = @(Get-ChildItem (Join-Path $Root 'bench') -Filter '*.ps1' -ErrorAction SilentlyContinue)
    if ($scripts.Count -eq 0) { Write-Host 'No benchmark scripts in bench/.'; return }
    foreach ($script in $scripts) {
        Write-Host "`n== $($script.Name) ==" -ForegroundColor Cyan
        $exit = Invoke-ChildPwsh -Script $script.FullName -Environment @{ CDITOOLS_MODULE = $ModuleManifest }
        if ($exit -ne 0) { throw "$($script.Name) failed with exit code $exit." }
    }
}

function Invoke-Package {
    Invoke-Build
    $packages = New-Item -ItemType Directory -Path (Join-Path $Out 'packages') -Force
    Get-ChildItem $packages -Filter 'CdiTools.*.nupkg' | Remove-Item
    Compress-PSResource -Path $ModuleDir -DestinationPath $packages.FullName
    $nupkg = Join-Path $packages "CdiTools.$ModuleVersion.nupkg"
    if (-not (Test-Path $nupkg)) { throw "Compress-PSResource did not write $nupkg." }
    Write-Host "Package written to $([IO.Path]::GetRelativePath($Root, $nupkg))"
}

function Invoke-Clean {
    if (Test-Path $Out) { Remove-Item $Out -Recurse -Force }
    Get-ChildItem $Root -Directory -Recurse -Include 'bin', 'obj' |
        Where-Object { $_.FullName -notlike (Join-Path $Root '.git*') } |
        Remove-Item -Recurse -Force
}

switch ($Task) {
    'Build' { Invoke-Build }
    'Test' { Invoke-Test }
    'Demo' { Invoke-Demo }
    'Bench' { Invoke-Bench }
    'Package' { Invoke-Package }
    'Clean' { Invoke-Clean }
}
