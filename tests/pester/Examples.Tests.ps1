# Every example of README.md, the cmdlets' help and about_CdiTools runs as written, each in a
# fresh pwsh, in a fresh folder, against a fresh fake cluster (with CDI's upload proxy) and the
# public hosts it names, and does what Examples.Expectations.ps1 says it does. An example
# without an expectation, or an expectation whose example is gone, fails the suite.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'DocumentedExamples.psm1') -Force
    $examples = @(Get-DocumentedExample)
    $groups = @($examples | Group-Object Text | ForEach-Object { @{ Text = $_.Name; Sources = ($_.Group.Source -join '; ') } })
    # CDITOOLS_EXAMPLES (a wildcard) runs only the examples it matches, when working on one.
    if ($env:CDITOOLS_EXAMPLES) { $groups = @($groups | Where-Object { $_.Text -like $env:CDITOOLS_EXAMPLES }) }
}

BeforeAll {
    Import-Module $env:CDITOOLS_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'DocumentedExamples.psm1') -Force
    $script:RepositoryRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
}

Describe 'Documented examples' {
    It 'every example has an expectation, and every expectation an example' {
        $texts = @(Get-DocumentedExample | Group-Object Text | ForEach-Object Name)
        $expectations = & (Join-Path $PSScriptRoot 'Examples.Expectations.ps1')
        @($texts | Where-Object { -not $expectations.Contains($_) }) | Should -BeNullOrEmpty -Because 'each documented example needs an entry in Examples.Expectations.ps1'
        @($expectations.Keys | Where-Object { $_ -notin $texts }) | Should -BeNullOrEmpty -Because 'an expectation whose example changed or went away is stale'
        $texts.Count | Should -BeGreaterThan 50
    }

    Context '<Text>' -ForEach $groups {
        BeforeAll {
            # Dot-sourced, so that the checks find the helpers the file defines beside them.
            $expectation = (. (Join-Path $PSScriptRoot 'Examples.Expectations.ps1'))[$Text]
            $sandbox = New-ExampleSandbox (Join-Path $TestDrive ([guid]::NewGuid().ToString('n')))
            $cluster = Start-FakeCluster -Namespace vms -Internet $sandbox.Web -Scenario (New-ExampleScenario $expectation.Seed -StepDelayMilliseconds ($expectation.StepDelayMilliseconds ?? 20))
            Complete-ExampleSandbox $sandbox $cluster
            $location = $expectation.InRepository ? $RepositoryRoot : $sandbox.Work
            $result = Invoke-DocumentedExample -Text $Text -Sandbox $sandbox -Cluster $cluster -Location $location -Setup "$($expectation.Setup)" -Probe "$($expectation.Probe)" -NoModule:([bool]$expectation.NoModule)
        }
        AfterAll { if ($cluster) { Stop-FakeCluster $cluster } }

        It 'runs without an error (<Sources>)' {
            $result.Error | Should -BeNullOrEmpty
        }

        It 'warns only as documented' {
            $expected = $expectation.Warning
            foreach ($warning in $result.Warnings) { $warning | Should -Match ($expected ?? '^(?!)') }
        }

        It 'does what it is documented to do' {
            $expectation.Check | Should -Not -BeNullOrEmpty -Because 'an example is checked for what it does, not only for running'
            & $expectation.Check $result $sandbox $cluster
        }
    }
}
