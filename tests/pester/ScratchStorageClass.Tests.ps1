BeforeAll {
    Import-Module $env:CDITOOLS_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force

    $script:Classes = @(
        @{ name = 'standard'; default = $true }
        @{ name = 'fast' }
        @{ name = 'raw-block' }
    )
    $script:Profiles = @(
        @{ storageClass = 'standard'; claimPropertySets = @(@{ volumeMode = 'Filesystem' }) }
        @{ storageClass = 'fast'; claimPropertySets = @(@{ volumeMode = 'Filesystem' }, @{ volumeMode = 'Block' }) }
        @{ storageClass = 'raw-block'; claimPropertySets = @(@{ volumeMode = 'Block' }) }
    )
    $script:HcoPath = '/apis/hco.kubevirt.io/v1beta1/namespaces/kubevirt-hyperconverged/hyperconvergeds/kubevirt-hyperconverged'
    $script:CdiPath = '/apis/cdi.kubevirt.io/v1beta1/cdis/cdi'
    $script:ConfigPath = '/apis/cdi.kubevirt.io/v1beta1/cdiconfigs/config'

    function script:New-Cluster([hashtable] $Extra = @{}) {
        $scenario = @{ storageClasses = $Classes; storageProfiles = $Profiles; cdi = @{ version = 'v1.66.0' } }
        foreach ($key in $Extra.Keys) { $scenario[$key] = $Extra[$key] }
        Start-FakeCluster -Scenario $scenario -Namespace vms
    }
}

Describe 'Get-CdiScratchStorageClass' {
    Context 'on a HyperConverged cluster with current CDI' {
        BeforeAll {
            $cluster = New-Cluster @{ hyperConverged = @{ scratchSpaceStorageClass = 'fast' } }
            $dataVolume = @{
                apiVersion = 'cdi.kubevirt.io/v1beta1'; kind = 'DataVolume'
                metadata   = @{ name = 'disk'; namespace = 'vms' }
                spec       = @{ source = @{ upload = @{} }; storage = @{ storageClassName = 'standard'; resources = @{ requests = @{ storage = '1Gi' } } } }
            }
            Invoke-FakeCluster $cluster '/apis/cdi.kubevirt.io/v1beta1/namespaces/vms/datavolumes' -Method POST -Body ($dataVolume | ConvertTo-Json -Depth 10) -ContentType 'application/json' | Out-Null
        }
        AfterAll { Stop-FakeCluster $cluster }

        It 'says where the class is set, what CDI computed, and which rule decides' {
            $result = Get-CdiScratchStorageClass -KubeConfig $cluster.Kubeconfig

            $result.Configured | Should -BeExactly 'fast'
            $result.ConfiguredOn | Should -BeExactly 'HyperConverged kubevirt-hyperconverged/kubevirt-hyperconverged'
            $result.ConfiguredField | Should -BeExactly 'spec.scratchSpaceStorageClass'
            $result.Effective | Should -BeExactly 'fast'
            $result.CdiVersion | Should -BeExactly 'v1.66.0'
            $result.DefaultStorageClass | Should -BeExactly 'standard'
            $result.Rules | Should -BeExactly 'CDI v1.65.0 and later'
            $result.Resolution | Should -HaveCount 3
            ($result.Resolution | Where-Object Applies).Order | Should -Be 1
        }

        It 'reads KUBECONFIG when -KubeConfig is not given' {
            $saved = $env:KUBECONFIG
            try {
                $env:KUBECONFIG = $cluster.Kubeconfig
                (Get-CdiScratchStorageClass).Effective | Should -BeExactly 'fast'
            }
            finally { $env:KUBECONFIG = $saved }
        }

        It 'shows the resolution with the deciding step marked in the default view' {
            $text = Get-CdiScratchStorageClass -KubeConfig $cluster.Kubeconfig | Out-String -Width 200

            $text | Should -Match 'Configured\s+: fast \(on HyperConverged kubevirt-hyperconverged/kubevirt-hyperconverged'
            $text | Should -Match '-> 1\. scratchSpaceStorageClass from CDI''s configuration'
            $text | Should -Match 'CDI v1\.65\.0 and later rules'
        }

        It 'answers for a DataVolume named with -Namespace' {
            $result = Get-CdiScratchStorageClass disk -Namespace vms -KubeConfig $cluster.Kubeconfig

            $result.DataVolume | Should -BeExactly 'vms/disk'
            $result.ScratchClass | Should -BeExactly 'fast'
        }

        It 'answers for a DataVolume piped in as kubectl JSON, in its own namespace' {
            $json = Invoke-FakeCluster $cluster '/apis/cdi.kubevirt.io/v1beta1/namespaces/vms/datavolumes/disk' | ConvertTo-Json -Depth 10
            $result = $json | ConvertFrom-Json | Get-CdiScratchStorageClass -KubeConfig $cluster.Kubeconfig

            $result.DataVolume | Should -BeExactly 'vms/disk'
        }

        It 'defaults to the context''s namespace' {
            (Get-CdiScratchStorageClass disk -KubeConfig $cluster.Kubeconfig).DataVolume | Should -BeExactly 'vms/disk'
        }

        It 'reports a DataVolume that does not exist as ObjectNotFound with a stable id' {
            $result = Get-CdiScratchStorageClass ghost -KubeConfig $cluster.Kubeconfig -ErrorVariable failure -ErrorAction SilentlyContinue

            $result | Should -BeNullOrEmpty
            $failure[0].FullyQualifiedErrorId | Should -BeLike 'DataVolumeNotFound,*'
            $failure[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            "$($failure[0])" | Should -Match 'vms/ghost'
        }

        It 'stops on an unknown context, naming the ones there are' {
            { Get-CdiScratchStorageClass -KubeConfig $cluster.Kubeconfig -Context nowhere -ErrorAction Stop } |
                Should -Throw -ErrorId 'ContextNotFound,CdiTools.Commands.GetCdiScratchStorageClassCommand' -ExpectedMessage '*fake*'
        }
    }

    Context 'on CDI before v1.65 with nothing configured' {
        BeforeAll { $cluster = New-Cluster @{ cdi = @{ version = 'v1.58.1' } } }
        AfterAll { Stop-FakeCluster $cluster }

        It 'applies the old rules: the default class decides' {
            $result = Get-CdiScratchStorageClass -KubeConfig $cluster.Kubeconfig

            $result.Rules | Should -BeExactly 'CDI before v1.65.0'
            $result.Configured | Should -BeNullOrEmpty
            $result.ConfiguredOn | Should -BeExactly 'CDI cdi'
            $result.Effective | Should -BeExactly 'standard'
            $step = $result.Resolution | Where-Object Applies
            $step.Order | Should -Be 2
            $step.Value | Should -BeExactly 'standard'
        }
    }
}

Describe 'Set-CdiScratchStorageClass' {
    Context 'with HyperConverged' {
        BeforeEach { $cluster = New-Cluster @{ hyperConverged = @{} } }
        AfterEach { Stop-FakeCluster $cluster }

        It 'sets the class on HyperConverged, waits for CDI, and says so' {
            $verbose = $($result = Set-CdiScratchStorageClass fast -KubeConfig $cluster.Kubeconfig -Wait -PassThru -Verbose) 4>&1

            $result.Effective | Should -BeExactly 'fast'
            $result.Configured | Should -BeExactly 'fast'
            (Invoke-FakeCluster $cluster $HcoPath).spec.scratchSpaceStorageClass | Should -BeExactly 'fast'
            (Invoke-FakeCluster $cluster $CdiPath).spec.config.scratchSpaceStorageClass | Should -BeExactly 'fast'
            (Invoke-FakeCluster $cluster $ConfigPath).status.scratchSpaceStorageClass | Should -BeExactly 'fast'
            ($verbose -join "`n") | Should -Match "on HyperConverged kubevirt-hyperconverged/kubevirt-hyperconverged, because the HyperConverged operator"
        }

        It '-WhatIf leaves the cluster unchanged' {
            $before = foreach ($path in $HcoPath, $CdiPath, $ConfigPath) { (Invoke-FakeCluster $cluster $path).metadata.resourceVersion }

            $output = Set-CdiScratchStorageClass fast -KubeConfig $cluster.Kubeconfig -WhatIf -Wait -PassThru

            $after = foreach ($path in $HcoPath, $CdiPath, $ConfigPath) { (Invoke-FakeCluster $cluster $path).metadata.resourceVersion }
            $after | Should -Be $before
            (Invoke-FakeCluster $cluster $HcoPath).spec.scratchSpaceStorageClass | Should -BeNullOrEmpty
            $output | Should -BeNullOrEmpty
            @(Invoke-FakeCluster $cluster $ConfigPath).status.scratchSpaceStorageClass | Should -BeNullOrEmpty
        }

        It 'takes a StorageClass object from the pipeline' {
            Invoke-FakeCluster $cluster '/apis/storage.k8s.io/v1/storageclasses/fast' | ConvertTo-Json -Depth 10 | ConvertFrom-Json |
                Set-CdiScratchStorageClass -KubeConfig $cluster.Kubeconfig -Wait

            (Invoke-FakeCluster $cluster $ConfigPath).status.scratchSpaceStorageClass | Should -BeExactly 'fast'
        }

        It 'refuses a class that does not exist, explains what CDI would do, and changes nothing' {
            Set-CdiScratchStorageClass nope -KubeConfig $cluster.Kubeconfig -ErrorVariable failure -ErrorAction SilentlyContinue

            $failure[0].FullyQualifiedErrorId | Should -BeLike 'StorageClassNotFound,*'
            $failure[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            "$($failure[0])" | Should -Match "no StorageClass 'nope'.*each DataVolume's own class"
            (Invoke-FakeCluster $cluster $HcoPath).spec.scratchSpaceStorageClass | Should -BeNullOrEmpty
        }

        It 'sets a class that does not exist with -Force, with a warning' {
            Set-CdiScratchStorageClass nope -Force -KubeConfig $cluster.Kubeconfig -WarningVariable warned -WarningAction SilentlyContinue

            "$warned" | Should -Match "no StorageClass 'nope'"
            (Invoke-FakeCluster $cluster $HcoPath).spec.scratchSpaceStorageClass | Should -BeExactly 'nope'
        }

        It 'warns that a Block-only class cannot hold scratch space' {
            Set-CdiScratchStorageClass raw-block -KubeConfig $cluster.Kubeconfig -WarningVariable warned -WarningAction SilentlyContinue

            "$warned" | Should -Match 'only Block volumes'
        }

        It '-Clear removes the setting' {
            Set-CdiScratchStorageClass fast -KubeConfig $cluster.Kubeconfig -Wait
            $result = Set-CdiScratchStorageClass -Clear -KubeConfig $cluster.Kubeconfig -Wait -PassThru

            $result.Configured | Should -BeNullOrEmpty
            $result.Effective | Should -BeNullOrEmpty
            (Invoke-FakeCluster $cluster $HcoPath).spec.PSObject.Properties.Name | Should -Not -Contain 'scratchSpaceStorageClass'
        }
    }

    Context 'with the CDI resource as config authority' {
        BeforeAll { $cluster = New-Cluster }
        AfterAll { Stop-FakeCluster $cluster }

        It 'writes spec.config on the CDI resource' {
            $result = Set-CdiScratchStorageClass fast -KubeConfig $cluster.Kubeconfig -Wait -PassThru

            $result.ConfiguredOn | Should -BeExactly 'CDI cdi'
            (Invoke-FakeCluster $cluster $CdiPath).spec.config.scratchSpaceStorageClass | Should -BeExactly 'fast'
            (Invoke-FakeCluster $cluster $ConfigPath).status.scratchSpaceStorageClass | Should -BeExactly 'fast'
        }
    }

    Context 'with CDI older than the config authority' {
        BeforeAll { $cluster = New-Cluster @{ cdi = @{ version = 'v1.26.0'; configAuthority = $false } } }
        AfterAll { Stop-FakeCluster $cluster }

        It 'writes CDIConfig''s spec' {
            $result = Set-CdiScratchStorageClass fast -KubeConfig $cluster.Kubeconfig -Wait -PassThru

            $result.ConfiguredOn | Should -BeExactly 'CDIConfig config'
            (Invoke-FakeCluster $cluster $ConfigPath).spec.scratchSpaceStorageClass | Should -BeExactly 'fast'
        }
    }

    Context 'when it may not patch' {
        BeforeAll { $cluster = New-Cluster @{ denials = @(@{ verb = 'patch'; resource = 'cdis' }) } }
        AfterAll { Stop-FakeCluster $cluster }

        It 'is PermissionDenied with the server''s reason' {
            Set-CdiScratchStorageClass fast -KubeConfig $cluster.Kubeconfig -ErrorVariable failure -ErrorAction SilentlyContinue

            $failure[0].FullyQualifiedErrorId | Should -BeLike 'Forbidden,*'
            $failure[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
            "$($failure[0])" | Should -Match 'cannot patch resource "cdis"'
        }
    }

    Context 'when CDI is slower than the timeout' {
        BeforeAll { $cluster = New-Cluster @{ controllerDelayMilliseconds = 20000 } }
        AfterAll { Stop-FakeCluster $cluster }

        It 'times out with what the status shows' {
            Set-CdiScratchStorageClass fast -KubeConfig $cluster.Kubeconfig -Wait -Timeout 1 -ErrorVariable failure -ErrorAction SilentlyContinue

            $failure[0].FullyQualifiedErrorId | Should -BeLike 'ScratchClassNotApplied,*'
            $failure[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
            "$($failure[0])" | Should -Match "not 'fast'"
        }
    }
}
