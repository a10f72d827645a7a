BeforeAll {
    Import-Module $env:CDITOOLS_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force

    $script:Sample = Join-Path $PSScriptRoot '../../tools/sample/demo-disk.qcow2.xz'
    function script:New-UploadCluster([hashtable] $Proxy = @{}) {
        $proxySettings = @{ readyPollMilliseconds = 50; asyncCompletionDelayMilliseconds = 20 }
        foreach ($key in $Proxy.Keys) { $proxySettings[$key] = $Proxy[$key] }
        Start-FakeCluster -Namespace vms -Scenario @{
            namespaces                      = @('vms')
            storageClasses                  = @(@{ name = 'standard'; default = $true }, @{ name = 'lazy'; volumeBindingMode = 'WaitForFirstConsumer' })
            cdi                             = @{ version = 'v1.66.0' }
            dataVolumeStepDelayMilliseconds = 20
            uploadProxy                     = $proxySettings
        }
    }
}

Describe 'Import-CdiImage -Namespace' {
    BeforeAll { $cluster = New-UploadCluster }
    AfterAll { Stop-FakeCluster $cluster }

    It 'uploads an image into a new DataVolume sized from it, and returns it succeeded' {
        $info = Get-CdiImageInfo $Sample

        $dv = Import-CdiImage $Sample -Namespace vms -Name demo -KubeConfig $cluster.Kubeconfig -PassThru

        $dv.Name | Should -BeExactly 'demo'
        $dv.Phase | Should -BeExactly 'Succeeded'
        $dv.Size | Should -Be $info.VirtualSize -Because 'the storage API asks for the disk; CDI adds the overhead to the claim'
        (Invoke-FakeCluster $cluster '/api/v1/namespaces/vms/persistentvolumeclaims/demo').spec.resources.requests.storage | Should -Be "$($info.FilesystemPvcSize)"
        (Invoke-FakeCluster $cluster '/apis/cdi.kubevirt.io/v1beta1/namespaces/vms/datavolumes/demo').spec.source.PSObject.Properties.Name | Should -Be @('upload')
    }

    It 'refuses an upload whose scratch PVC a LimitRange would refuse, creating nothing, and with -Force warns and waits for it' {
        # A Block volume of the disk fits the cap; its scratch PVC, Filesystem with CDI's overhead, does not.
        $info = Get-CdiImageInfo $Sample
        $cap = @{ apiVersion = 'v1'; kind = 'LimitRange'; metadata = @{ name = 'pvc-cap'; namespace = 'vms' }; spec = @{ limits = @(@{ type = 'PersistentVolumeClaim'; max = @{ storage = "$($info.VirtualSize)" } }) } }
        Invoke-FakeCluster $cluster '/api/v1/namespaces/vms/limitranges' -Method Post -ContentType 'application/json' -Body ($cap | ConvertTo-Json -Depth 6) | Out-Null
        try {
            Import-CdiImage $Sample -Namespace vms -Name capped -VolumeMode Block -KubeConfig $cluster.Kubeconfig -ErrorVariable refused -ErrorAction SilentlyContinue
            $created = Invoke-FakeCluster $cluster '/apis/cdi.kubevirt.io/v1beta1/namespaces/vms/datavolumes'
            Import-CdiImage $Sample -Namespace vms -Name forced -VolumeMode Block -Force -Timeout 3 -KubeConfig $cluster.Kubeconfig -WarningVariable warned -WarningAction SilentlyContinue -ErrorVariable waited -ErrorAction SilentlyContinue

            $refused[0].FullyQualifiedErrorId | Should -BeLike 'ScratchLimitRangeExceeded,*'
            "$($refused[0])" | Should -Match 'nothing was created'
            $created.items.metadata.name | Should -Not -Contain 'capped'
            "$warned" | Should -Match 'Scratch space for vms/forced: ScratchLimitRangeExceeded'
            $waited[0].FullyQualifiedErrorId | Should -BeLike 'WaitTimedOut,*'
            "$($waited[0])" | Should -Match 'Its scratch PVC holds it up \(ScratchLimitRangeExceeded\)'
        }
        finally {
            Invoke-FakeCluster $cluster '/api/v1/namespaces/vms/limitranges/pvc-cap' -Method Delete | Out-Null
        }
    }

    It 'names DataVolumes after the files and uploads several at once' {
        $folder = Join-Path $TestDrive 'many'
        New-Item -ItemType Directory $folder | Out-Null
        Copy-Item $Sample (Join-Path $folder 'Web_Server-1.qcow2.xz')
        Copy-Item $Sample (Join-Path $folder 'db.qcow2.xz')

        $done = Get-ChildItem $folder | Import-CdiImage -Namespace vms -ThrottleLimit 2 -KubeConfig $cluster.Kubeconfig -PassThru

        $done.Name | Sort-Object | Should -Be @('db', 'web-server-1')
        $done.Phase | Should -Be @('Succeeded', 'Succeeded')
    }

    It 'refuses images that would go into one DataVolume, before creating anything, and uploads the rest' {
        $folder = Join-Path $TestDrive 'clash'
        New-Item -ItemType Directory $folder | Out-Null
        Copy-Item $Sample (Join-Path $folder 'fedora.qcow2.xz')
        Copy-Item $Sample (Join-Path $folder 'Fedora.vmdk.xz')
        Copy-Item $Sample (Join-Path $folder 'solo.qcow2.xz')

        $done = Get-ChildItem $folder | Import-CdiImage -Namespace vms -ThrottleLimit 3 -KubeConfig $cluster.Kubeconfig -PassThru -ErrorVariable failures -ErrorAction SilentlyContinue
        Import-CdiImage (Join-Path $folder 'solo.qcow2.xz'), $Sample -Namespace vms -Name one -KubeConfig $cluster.Kubeconfig -ErrorVariable named -ErrorAction SilentlyContinue

        $done.Name | Should -Be @('solo')
        $failures | Should -HaveCount 2
        $failures | ForEach-Object { $_.FullyQualifiedErrorId | Should -BeLike 'DataVolumeNameCollision,*' }
        ($failures | Out-String -Width 400) | Should -Match 'fedora\.qcow2\.xz'
        ($failures | Out-String -Width 400) | Should -Match 'Fedora\.vmdk\.xz'
        $named | Should -HaveCount 2
        { Invoke-FakeCluster $cluster '/apis/cdi.kubevirt.io/v1beta1/namespaces/vms/datavolumes/fedora' } | Should -Throw
        { Invoke-FakeCluster $cluster '/apis/cdi.kubevirt.io/v1beta1/namespaces/vms/datavolumes/one' } | Should -Throw
    }

    It 'names -CertificateFile when a server''s certificate is not trusted' {
        # The fake cluster's certificate comes from its own CA, which the system store does not hold.
        Import-CdiImage -Uri "$($cluster.Uri)/disk.qcow2" -DestinationPath (Join-Path $TestDrive 'tls.raw') -ErrorVariable failure -ErrorAction SilentlyContinue

        $failure[0].FullyQualifiedErrorId | Should -BeLike 'HttpTlsUntrusted,*'
        $failure[0].CategoryInfo.Category | Should -Be 'SecurityError'
        $failure[0].ErrorDetails.RecommendedAction | Should -Match '-CertificateFile'
    }

    It '-WhatIf creates nothing' {
        Import-CdiImage $Sample -Namespace vms -Name nothing -KubeConfig $cluster.Kubeconfig -WhatIf

        { Invoke-FakeCluster $cluster '/apis/cdi.kubevirt.io/v1beta1/namespaces/vms/datavolumes/nothing' } | Should -Throw
    }

    It 'stops at once with advice when the class waits for the first consumer' {
        Import-CdiImage $Sample -Namespace vms -Name lazy -StorageClass lazy -KubeConfig $cluster.Kubeconfig -ErrorVariable failure -ErrorAction SilentlyContinue

        $failure[0].FullyQualifiedErrorId | Should -BeLike 'WaitingForFirstConsumer,*'
        "$($failure[0])" | Should -Match '-BindImmediately'
    }

    It 'refuses to guess between a file and the cluster' {
        { Import-CdiImage $Sample -ErrorAction Stop } | Should -Throw -ErrorId 'DestinationRequired,CdiTools.Commands.ImportCdiImageCommand'
        { Import-CdiImage $Sample (Join-Path $TestDrive 'x.raw') -Namespace vms -ErrorAction Stop } | Should -Throw -ErrorId 'DestinationRequired,CdiTools.Commands.ImportCdiImageCommand'
    }
}

Describe 'Import-CdiImage -Namespace on a flaky network' {
    BeforeAll { $cluster = New-UploadCluster -Proxy @{ resetConnections = @{ afterBytes = 4096; uploads = 2 } } }
    AfterAll { Stop-FakeCluster $cluster }

    It 'retries from the first byte and still lands the image' {
        $verbose = $($dv = Import-CdiImage $Sample -Namespace vms -Name flaky -KubeConfig $cluster.Kubeconfig -PassThru -Verbose) 4>&1

        $dv.Phase | Should -BeExactly 'Succeeded'
        @($verbose | Where-Object { "$_" -match 'starting again from the first byte' }) | Should -HaveCount 2
    }
}

Describe 'Import-CdiImage into a DataVolume that exists' {
    BeforeAll { $cluster = New-UploadCluster }
    AfterAll { Stop-FakeCluster $cluster }

    It 'takes a DataVolume from New-CdiDataVolume on the pipeline' {
        $dv = New-CdiDataVolume target -Upload -Size 3Gi -KubeConfig $cluster.Kubeconfig |
            Import-CdiImage -Path $Sample -KubeConfig $cluster.Kubeconfig -PassThru

        $dv.Name | Should -BeExactly 'target'
        $dv.Phase | Should -BeExactly 'Succeeded'
        $dv.Size | Should -Be 3GB
    }
}
