BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModuleDir = Split-Path $env:CDITOOLS_MODULE
    $script:Manifest = Import-PowerShellDataFile $env:CDITOOLS_MODULE
}

Describe 'The built module' {
    It 'is laid out as out/CdiTools/(version) with CdiTools.dll alone in the root and the rest in deps' {
        Split-Path $ModuleDir -Leaf | Should -Be $Manifest.ModuleVersion
        Get-ChildItem $ModuleDir -Filter *.dll | ForEach-Object Name | Should -Be 'CdiTools.dll'
        Join-Path $ModuleDir 'deps/CdiTools.Cluster.dll' | Should -Exist
        Join-Path $ModuleDir 'deps/CdiTools.Engine.dll' | Should -Exist
        Join-Path $ModuleDir 'deps/YamlDotNet.dll' | Should -Exist
        Join-Path $ModuleDir 'CdiTools.Format.ps1xml' | Should -Exist
        Join-Path $ModuleDir 'CdiTools.Types.ps1xml' | Should -Exist
        Join-Path $ModuleDir 'en-US/CdiTools.dll-Help.xml' | Should -Exist
        Join-Path $ModuleDir 'en-US/about_CdiTools.help.txt' | Should -Exist
        Get-ChildItem $ModuleDir -Recurse -Filter 'System.Management.Automation.dll' | Should -BeNullOrEmpty
    }

    It 'carries ready-to-run code in its own assemblies and the zstd decoder, and only IL in the Kubernetes client' {
        # A ready-to-run file keeps its IL and adds native code in a header the runtime looks for.
        function Test-ReadyToRun([string] $Path) {
            $stream = [IO.File]::OpenRead($Path)
            try { ([Reflection.PortableExecutable.PEReader]::new($stream)).PEHeaders.CorHeader.ManagedNativeHeaderDirectory.Size -gt 0 }
            finally { $stream.Dispose() }
        }
        foreach ($file in 'CdiTools.dll', 'deps/CdiTools.Cluster.dll', 'deps/CdiTools.Engine.dll', 'deps/ZstdSharp.dll') {
            Test-ReadyToRun (Join-Path $ModuleDir $file) | Should -BeTrue -Because "$file should hold native code for the machine the module was built on"
        }
        Test-ReadyToRun (Join-Path $ModuleDir 'deps/KubernetesClient.dll') | Should -BeFalse -Because 'compiling it would double the module for little gain'
    }

    It 'has a manifest for PowerShell 7.6 Core that exports exactly its cmdlets' {
        Test-ModuleManifest $env:CDITOOLS_MODULE | Should -Not -BeNullOrEmpty
        $Manifest.CompatiblePSEditions | Should -Be @('Core')
        $Manifest.PowerShellVersion | Should -Be '7.6'
        $Manifest.Keys | Should -Not -Contain 'RequiredAssemblies'
        $Manifest.Keys | Should -Not -Contain 'ScriptsToProcess'

        $module = Import-Module $env:CDITOOLS_MODULE -Force -PassThru
        @($module.ExportedCmdlets.Keys | Sort-Object) | Should -Be @($Manifest.CmdletsToExport | Sort-Object)
    }

    It 'loads the engine, the cluster layer and YamlDotNet into its own load context' {
        Import-Module $env:CDITOOLS_MODULE -Force
        $null = Get-CdiSupportMatrix
        $contexts = @{}
        foreach ($assembly in [AppDomain]::CurrentDomain.GetAssemblies()) {
            $contexts[$assembly.GetName().Name] = [Runtime.Loader.AssemblyLoadContext]::GetLoadContext($assembly).Name
        }

        $contexts['CdiTools'] | Should -Be 'Default'
        $contexts['CdiTools.Cluster'] | Should -Be 'CdiTools'
        $contexts['YamlDotNet'] | Should -Be 'CdiTools'
    }
}

Describe 'Isolation from the session''s assemblies' {
    It 'imports and works when the session already holds another YamlDotNet, and leaves that one working' {
        $oldYaml = Join-Path $env:CDITOOLS_NUGET_PACKAGES 'yamldotnet/11.2.1/lib/netstandard2.1/YamlDotNet.dll'
        $oldYaml | Should -Exist

        $run = Invoke-FreshPwsh -Script @"
`$ErrorActionPreference = 'Stop'
Add-Type -Path '$oldYaml'
Import-Module '$env:CDITOOLS_MODULE'
`$grid = Get-CdiSupportMatrix -AsGrid -CdiVersion v1.66.0
`$sessionYaml = [YamlDotNet.Serialization.SerializerBuilder]::new().Build().Serialize(@{ answer = 42 })
`$loaded = foreach (`$a in [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'YamlDotNet' }) {
    '{0}@{1}' -f `$a.GetName().Version.Major, [Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$a).Name
}
[pscustomobject]@{ Rows = `$grid.Count; Qcow2Http = `$grid[0].Http; SessionYaml = `$sessionYaml.Trim(); Loaded = @(`$loaded | Sort-Object) } | ConvertTo-Json -Compress
"@
        $run.ExitCode | Should -Be 0 -Because $run.Output
        $result = Get-JsonResult $run

        $result.Rows | Should -Be 7
        $result.Qcow2Http | Should -Be 'S* (doc S)'
        $result.SessionYaml | Should -Be 'answer: 42'
        $result.Loaded | Should -Be @('11@Default', '18@CdiTools')
    }
}

Describe 'Help' {
    BeforeAll {
        Import-Module $env:CDITOOLS_MODULE -Force
    }

    It '<Name>''s help agrees with its metadata: positions, pipeline input, aliases, and -WhatIf and -Confirm in every syntax' -ForEach @(
        foreach ($name in (Import-PowerShellDataFile $env:CDITOOLS_MODULE).CmdletsToExport) { @{ Name = $name } }
    ) {
        $help = Get-Help $Name -Full
        $command = Get-Command $Name
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        $problems = [System.Collections.Generic.List[string]]::new()
        foreach ($parameter in $command.Parameters.Values | Where-Object { $_.Name -notin $common }) {
            $documented = $help.parameters.parameter | Where-Object name -EQ $parameter.Name
            if (-not $documented) { continue }
            $attributes = $parameter.ParameterSets.Values
            $positions = @($attributes | Where-Object Position -GE 0 | ForEach-Object Position | Select-Object -Unique)
            $position = if ($positions.Count -gt 0) { "$($positions[0])" } else { 'named' }
            if ($documented.position -ne $position) { $problems.Add("-$($parameter.Name): help says position $($documented.position), the cmdlet $position") }
            $byValue = [bool]($attributes | Where-Object ValueFromPipeline)
            $byName = [bool]($attributes | Where-Object ValueFromPipelineByPropertyName)
            $pipeline = if ($byValue -and $byName) { 'True (ByValue, ByPropertyName)' } elseif ($byValue) { 'True (ByValue)' } elseif ($byName) { 'True (ByPropertyName)' } else { 'False' }
            if ($documented.pipelineInput -ne $pipeline) { $problems.Add("-$($parameter.Name): help says pipeline input $($documented.pipelineInput), the cmdlet $pipeline") }
            $text = $documented.description.Text -join ' '
            foreach ($alias in $parameter.Aliases) {
                if ($text -notmatch "\b$([regex]::Escape($alias))\b") { $problems.Add("-$($parameter.Name): alias $alias is not named in its help") }
            }
        }

        if ($command.Parameters.ContainsKey('WhatIf')) {
            foreach ($syntax in $help.syntax.syntaxItem) {
                foreach ($switch in 'WhatIf', 'Confirm') {
                    if ($switch -notin @($syntax.parameter.name)) { $problems.Add("a syntax of the help lacks -$switch") }
                }
            }
        }

        $problems | Select-Object -Unique | Should -BeNullOrEmpty
    }

    It '<Name> has a synopsis, a description, every parameter and at least two examples' -ForEach @(
        foreach ($name in (Import-PowerShellDataFile $env:CDITOOLS_MODULE).CmdletsToExport) { @{ Name = $name } }
    ) {
        $help = Get-Help $Name -Full
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        $parameters = (Get-Command $Name).Parameters.Keys | Where-Object { $_ -notin $common }

        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match "^\s*$Name\s+\[" -Because 'a synopsis that repeats the syntax means no help file was found'
        ($help.description.Text -join '') | Should -Not -BeNullOrEmpty
        @($help.examples.example).Count | Should -BeGreaterOrEqual 2
        foreach ($parameter in $parameters) {
            $documented = $help.parameters.parameter | Where-Object name -EQ $parameter
            $documented | Should -Not -BeNullOrEmpty -Because "-$parameter needs help"
            ($documented.description.Text -join '') | Should -Not -BeNullOrEmpty -Because "-$parameter needs a description"
        }
        @($help.parameters.parameter.name) | Where-Object { $_ -notin $parameters -and $_ -notin $common } | Should -BeNullOrEmpty -Because 'help must not describe parameters that do not exist'
    }

    It 'has an about_CdiTools topic that names every cmdlet' {
        $about = Get-Help about_CdiTools | Out-String

        $about | Should -Match 'SCRATCH SPACE'
        foreach ($name in (Import-PowerShellDataFile $env:CDITOOLS_MODULE).CmdletsToExport) {
            $about | Should -Match $name
        }
    }
}

Describe 'The package' {
    It 'installs with Install-PSResource from a folder repository and imports by name' {
        $env:CDITOOLS_PACKAGES | Should -Not -BeNullOrEmpty
        $nupkg = Join-Path $env:CDITOOLS_PACKAGES "CdiTools.$($Manifest.ModuleVersion).nupkg"
        $nupkg | Should -Exist
        $home_ = Join-Path ([IO.Path]::GetTempPath()) "cditools-home-$([guid]::NewGuid().ToString('n'))"
        New-Item -ItemType Directory $home_ | Out-Null
        try {
            # A home of its own, so the repository registration and the install touch nothing of the user's.
            $run = Invoke-FreshPwsh -Environment @{ HOME = $home_; XDG_DATA_HOME = $null; XDG_CONFIG_HOME = $null; XDG_CACHE_HOME = $null } -Script @"
`$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name CdiToolsLocal -Uri '$env:CDITOOLS_PACKAGES' -Trusted
Install-PSResource -Name CdiTools -Repository CdiToolsLocal -Scope CurrentUser -TrustRepository -Quiet
Import-Module CdiTools
[pscustomobject]@{
    Base = (Get-Module CdiTools).ModuleBase
    Version = (Get-Module CdiTools).Version.ToString()
    Entries = @(Get-CdiSupportMatrix).Count
    Deps = Test-Path (Join-Path (Get-Module CdiTools).ModuleBase 'deps/CdiTools.Cluster.dll')
} | ConvertTo-Json -Compress
"@
            $run.ExitCode | Should -Be 0 -Because $run.Output
            $result = Get-JsonResult $run

            $result.Base | Should -BeLike "$home_*"
            $result.Version | Should -Be $Manifest.ModuleVersion
            $result.Entries | Should -Be 35
            $result.Deps | Should -BeTrue
        }
        finally {
            Remove-Item $home_ -Recurse -Force -ErrorAction SilentlyContinue
        }
    }
}
