<#
.SYNOPSIS
    Runs every *.Tests.ps1 file beside this script against the built module, in this (fresh) session.
.DESCRIPTION
    build.ps1 Test starts it in a child pwsh and passes, through the environment:
    CDITOOLS_MODULE (the built CdiTools.psd1), CDITOOLS_PACKAGES (the folder holding the .nupkg),
    CDITOOLS_PESTER (Pester.psd1 of the restored NuGet package), CDITOOLS_PESTER_RESULT (where to
    write the counts as JSON) and CDITOOLS_FAKECLUSTER (the fake API server's dll, run with dotnet).
#>
$ErrorActionPreference = 'Stop'
foreach ($name in 'CDITOOLS_MODULE', 'CDITOOLS_PESTER', 'CDITOOLS_PESTER_RESULT') {
    if (-not [Environment]::GetEnvironmentVariable($name)) { throw "$name is not set; run the suite through 'build.ps1 Test'." }
}

Import-Module $env:CDITOOLS_PESTER -Force

$configuration = New-PesterConfiguration
$configuration.Run.Path = $PSScriptRoot
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
$configuration.TestResult.Enabled = $true
$configuration.TestResult.OutputFormat = 'NUnitXml'
$configuration.TestResult.OutputPath = [IO.Path]::ChangeExtension($env:CDITOOLS_PESTER_RESULT, '.xml')

$result = Invoke-Pester -Configuration $configuration

# A container that failed to run (a syntax error, a throwing BeforeAll) counts as a failure too.
$failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
[ordered]@{ Passed = $result.PassedCount; Failed = $failed } |
    ConvertTo-Json | Set-Content -Path $env:CDITOOLS_PESTER_RESULT
exit ([int]($failed -gt 0))
