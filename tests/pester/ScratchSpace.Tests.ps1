BeforeAll {
    Import-Module $env:CDITOOLS_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
}

Describe 'Test-CdiScratchSpace' {
    BeforeAll {
        $cluster = Start-FakeCluster -Namespace vms -Scenario @{
            namespaces     = @('vms')
            storageClasses = @(@{ name = 'standard'; default = $true }, @{ name = 'local'; provisioner = 'rancher.io/local-path'; volumeBindingMode = 'WaitForFirstConsumer' })
            cdi            = @{ version = 'v1.60.0' }
            objects        = @(
                @{ apiVersion = 'v1'; kind = 'LimitRange'; metadata = @{ name = 'pvc-cap'; namespace = 'vms' }; spec = @{ limits = @(@{ type = 'PersistentVolumeClaim'; max = @{ storage = '50Gi' } }) } }
            )
        }
    }
    AfterAll { Stop-FakeCluster $cluster }

    It 'sizes scratch space by the installed release: v1.60.0 copies the target''s request' {
        $report = Test-CdiScratchSpace -Url https://images.example/disk.qcow2 -Size 20Gi -KubeConfig $cluster.Kubeconfig

        $report.CdiVersion | Should -Be 'v1.60.0'
        $report.Size | Should -Be $report.TargetSize
        $report.Ready | Should -BeTrue
    }

    It 'returns only the verdict with -Quiet, false when a LimitRange caps PVCs below the scratch size' {
        Test-CdiScratchSpace -Upload -Size 60Gi -KubeConfig $cluster.Kubeconfig -Quiet | Should -BeFalse
        Test-CdiScratchSpace -Upload -Size 20Gi -KubeConfig $cluster.Kubeconfig -Quiet | Should -BeTrue
        $finding = (Test-CdiScratchSpace -Upload -Size 60Gi -KubeConfig $cluster.Kubeconfig).Findings | Where-Object Severity -EQ 'Error'
        $finding.Id | Should -Be 'ScratchLimitRangeExceeded'
        $finding.Fix | Should -Match 'at least'
    }

    It 'gives scratch space the cluster''s default class before v1.65.0, whatever class the DataVolume asks for' {
        $report = Test-CdiScratchSpace -Url https://images.example/disk.qcow2 -Size 20Gi -StorageClass local -KubeConfig $cluster.Kubeconfig

        $report.StorageClass | Should -Be 'standard'
        $report.Resolution | Should -Match '-> 2\. the cluster''s default StorageClass'
        $report.Findings.Id | Should -Not -Contain 'ScratchWaitForFirstConsumer'
    }

    It 'tests DataVolumes that exist from the pipeline, and says when one is gone' {
        New-CdiDataVolume pending -Upload -Size 60Gi -KubeConfig $cluster.Kubeconfig -WarningVariable warned -WarningAction SilentlyContinue | Out-Null
        "$warned" | Should -Match '^Scratch space for vms/pending: ScratchLimitRangeExceeded: LimitRange vms/pvc-cap caps a PVC at 50Gi' -Because 'New-CdiDataVolume runs the preflight and creates all the same'

        $report = Get-CdiDataVolume pending -KubeConfig $cluster.Kubeconfig | Test-CdiScratchSpace -KubeConfig $cluster.Kubeconfig
        $gone = Get-CdiDataVolume pending -KubeConfig $cluster.Kubeconfig
        Remove-CdiDataVolume pending -Force -KubeConfig $cluster.Kubeconfig
        $gone | Test-CdiScratchSpace -KubeConfig $cluster.Kubeconfig -ErrorVariable failure -ErrorAction SilentlyContinue

        $report.DataVolume | Should -Be 'vms/pending'
        $report.Findings.Id | Should -Contain 'ScratchLimitRangeExceeded'
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'DataVolumeNotFound,*'
        "$($failure[0])" | Should -Match 'give a source'
    }

    It 'refuses what CDI would refuse, with New-CdiDataVolume''s error ids, and creates nothing' {
        Test-CdiScratchSpace -Upload -KubeConfig $cluster.Kubeconfig -ErrorVariable failure -ErrorAction SilentlyContinue | Should -BeNullOrEmpty

        $failure[0].FullyQualifiedErrorId | Should -BeLike 'SizeMissing,*'
        (Invoke-FakeCluster $cluster '/apis/cdi.kubevirt.io/v1beta1/namespaces/vms/datavolumes').items.metadata.name | Should -Not -Contain 'preflight'
    }
}

Describe 'Scratch PVCs during an import: Get-CdiScratchVolume, Remove-CdiScratchVolume, and DataVolumes held up by them' {
    BeforeAll {
        # The cluster as CDI and Kubernetes leave it: a DataVolume whose scratch PVC a quota refused
        # (CDI's event on its PVC), a Block one whose scratch PVC a LimitRange refuses (no event: the
        # target fits the limit, the scratch PVC with its filesystem overhead does not), and one
        # importing with its scratch PVC bound.
        $dv = {
            param($Name, $Phase, $Mode = 'Filesystem')
            @{ apiVersion = 'cdi.kubevirt.io/v1beta1'; kind = 'DataVolume'; metadata = @{ name = $Name; namespace = 'vms' }
                spec = @{ source = @{ http = @{ url = "https://images.example/$Name.qcow2" } }; storage = @{ volumeMode = $Mode; resources = @{ requests = @{ storage = '10Gi' } } } }
                status = @{ phase = $Phase; claimName = $Name } }
        }
        $claim = {
            param($Name, $OwnerKind, $Owner, $Size = '10Gi', $Phase = 'Bound', [switch] $Scratch)
            $labels = @{ app = 'containerized-data-importer' }
            $annotations = if ($Scratch) { @{} } else { @{ 'cdi.kubevirt.io/storage.contentType' = 'kubevirt' } }
            @{ apiVersion = 'v1'; kind = 'PersistentVolumeClaim'
                metadata = @{ name = $Name; namespace = 'vms'; labels = $labels; annotations = $annotations
                    ownerReferences = @(@{ apiVersion = ($OwnerKind -eq 'Pod' ? 'v1' : 'cdi.kubevirt.io/v1beta1'); kind = $OwnerKind; name = $Owner; controller = $true }) }
                spec = @{ accessModes = @('ReadWriteOnce'); storageClassName = 'standard'; resources = @{ requests = @{ storage = $Size } } }
                status = @{ phase = $Phase } }
        }
        $quotaRefusal = 'persistentvolumeclaims "held-scratch" is forbidden: exceeded quota: storage, requested: requests.storage=10855Mi, used: requests.storage=95Gi, limited: requests.storage=100Gi'
        $cluster = Start-FakeCluster -Namespace vms -Scenario @{
            namespaces     = @('vms')
            storageClasses = @(@{ name = 'standard'; default = $true })
            cdi            = @{ version = 'v1.66.0' }
            objects        = @(
                @{ apiVersion = 'v1'; kind = 'LimitRange'; metadata = @{ name = 'pvc-cap'; namespace = 'vms' }; spec = @{ limits = @(@{ type = 'PersistentVolumeClaim'; max = @{ storage = '10Gi' } }) } }
                & $dv 'held' 'ImportScheduled'
                & $claim 'held' 'DataVolume' 'held' '10Gi'
                @{ apiVersion = 'v1'; kind = 'Event'; metadata = @{ name = 'held.refused'; namespace = 'vms' }
                    involvedObject = @{ kind = 'PersistentVolumeClaim'; namespace = 'vms'; name = 'held'; apiVersion = 'v1' }
                    reason = 'ErrExceededQuota'; type = 'Warning'; count = 7; message = $quotaRefusal; source = @{ component = 'import-controller' } }
                & $dv 'capped' 'ImportScheduled' 'Block'
                & $claim 'capped' 'DataVolume' 'capped'
                & $dv 'busy' 'ImportInProgress'
                & $claim 'busy' 'DataVolume' 'busy'
                @{ apiVersion = 'v1'; kind = 'Pod'; metadata = @{ name = 'importer-busy'; namespace = 'vms' }; spec = @{ containers = @(@{ name = 'importer'; image = 'importer' }) }; status = @{ phase = 'Running' } }
                & $claim 'busy-scratch' 'Pod' 'importer-busy' '10855Mi' -Scratch
            )
        }
    }
    AfterAll { Stop-FakeCluster $cluster }

    It 'says in Get-CdiDataVolume why a DataVolume waits for its scratch PVC: a quota from CDI''s event, a LimitRange from the preflight' {
        $views = Get-CdiDataVolume -KubeConfig $cluster.Kubeconfig | Sort-Object Name

        $views.Name | Should -Be @('busy', 'capped', 'held')
        $views[0].ScratchProblem | Should -BeNullOrEmpty
        $views[1].ScratchProblem.Id | Should -Be 'ScratchLimitRangeExceeded'
        $views[1].ScratchProblem.Message | Should -Match 'LimitRange vms/pvc-cap caps a PVC at 10Gi .* but the scratch PVC asks for 10855Mi'
        $views[2].ScratchProblem.Id | Should -Be 'ScratchQuotaExceeded'
        $views[2].ScratchProblem.Message | Should -Be "CDI cannot create the scratch PVC vms/held-scratch (refused 7 times): $quotaRefusal"
        ($views | Out-String -Width 200) | Should -Match 'held\s+ImportScheduled \(ScratchQuotaExceeded\)'
    }

    It 'warns once while waiting and names the cause and its fix in the timeout' {
        Wait-CdiDataVolume held -Timeout 4 -KubeConfig $cluster.Kubeconfig -WarningVariable warned -WarningAction SilentlyContinue -ErrorVariable failure -ErrorAction SilentlyContinue | Should -BeNullOrEmpty

        @($warned | Where-Object { "$_" -match 'ScratchQuotaExceeded' }).Count | Should -Be 1
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'WaitTimedOut,*'
        "$failure" | Should -Match 'Its scratch PVC holds it up \(ScratchQuotaExceeded\)'
        $failure[0].ErrorDetails.RecommendedAction | Should -Match 'Raise the ResourceQuota'
    }

    It 'lists a scratch PVC an import uses, filters by DataVolume, and refuses to remove it' {
        $busy = Get-CdiScratchVolume -DataVolume bu* -KubeConfig $cluster.Kubeconfig
        (Get-CdiDataVolume busy -KubeConfig $cluster.Kubeconfig | Get-CdiScratchVolume -KubeConfig $cluster.Kubeconfig).Name | Should -Be 'busy-scratch'
        Get-CdiDataVolume held -KubeConfig $cluster.Kubeconfig | Get-CdiScratchVolume -KubeConfig $cluster.Kubeconfig | Should -BeNullOrEmpty
        (Get-CdiScratchVolume -DataVolume vms/busy -KubeConfig $cluster.Kubeconfig).Name | Should -Be 'busy-scratch'
        (Get-CdiScratchVolume -DataVolume dv/busy -KubeConfig $cluster.Kubeconfig).Name | Should -Be 'busy-scratch'
        (Get-CdiScratchVolume -Namespace default -DataVolume vms/busy -KubeConfig $cluster.Kubeconfig).Name | Should -Be 'busy-scratch'
        # Across namespaces, kubectl's dv/NAME and a wildcard namespace look in all of them, not in the kubeconfig's.
        (Get-CdiScratchVolume -AllNamespaces -DataVolume dv/busy -KubeConfig $cluster.Kubeconfig).Name | Should -Be 'busy-scratch'
        (Get-CdiScratchVolume -AllNamespaces -DataVolume '*/busy' -KubeConfig $cluster.Kubeconfig).Name | Should -Be 'busy-scratch'
        (Get-CdiScratchVolume -DataVolume 'v*/busy' -KubeConfig $cluster.Kubeconfig).Name | Should -Be 'busy-scratch'
        @(Get-CdiScratchVolume -DataVolume 'x*/busy' -KubeConfig $cluster.Kubeconfig) | Should -HaveCount 0
        (Get-CdiDataVolume -AllNamespaces dv/busy -KubeConfig $cluster.Kubeconfig).Name | Should -Be 'busy'
        @(Get-CdiDataVolume -KubeConfig $cluster.Kubeconfig | Get-CdiScratchVolume -KubeConfig $cluster.Kubeconfig).Name | Should -Be @('busy-scratch')
        Get-CdiScratchVolume -DataVolume a/b/c -KubeConfig $cluster.Kubeconfig -ErrorVariable bad -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $bad[0].FullyQualifiedErrorId | Should -BeLike 'InvalidName,*'
        Get-CdiScratchVolume -DataVolume held -KubeConfig $cluster.Kubeconfig | Should -BeNullOrEmpty
        Get-CdiScratchVolume -Orphaned -KubeConfig $cluster.Kubeconfig | Should -BeNullOrEmpty

        $busy.Name | Should -Be 'busy-scratch'
        $busy.Pod | Should -Be 'importer-busy'
        $busy.Orphaned | Should -BeFalse
        $busy | Remove-CdiScratchVolume -Force -KubeConfig $cluster.Kubeconfig -ErrorVariable inUse -ErrorAction SilentlyContinue
        Remove-CdiScratchVolume nothing-scratch -Force -KubeConfig $cluster.Kubeconfig -ErrorVariable missing -ErrorAction SilentlyContinue

        $inUse[0].FullyQualifiedErrorId | Should -BeLike 'ScratchVolumeInUse,*'
        "$($inUse[0])" | Should -Match 'serves busy of DataVolume busy'
        $missing[0].FullyQualifiedErrorId | Should -BeLike 'ScratchVolumeNotFound,*'
        Get-CdiScratchVolume busy-scratch -KubeConfig $cluster.Kubeconfig | Should -Not -BeNullOrEmpty
    }

    It 'removes a scratch PVC once the PVC it serves is gone, asking first' {
        Invoke-FakeCluster $cluster '/api/v1/namespaces/vms/persistentvolumeclaims/busy' -Method Delete | Out-Null
        $orphan = Get-CdiScratchVolume -Orphaned -KubeConfig $cluster.Kubeconfig

        $orphan.OrphanReason | Should -Be 'its PVC busy is gone'
        $orphan | Remove-CdiScratchVolume -Confirm:$false -KubeConfig $cluster.Kubeconfig -Verbose 4>&1 | Out-String | Should -Match 'scratch PVC vms/busy-scratch'
        Get-CdiScratchVolume -KubeConfig $cluster.Kubeconfig | Should -BeNullOrEmpty
    }
}

Describe 'DataVolumes stuck on their scratch PVC, as CDI and Kubernetes get them stuck' {
    # Nothing here is seeded as stuck: the fake's CDI makes the scratch PVC, the fake API server's
    # quota admission refuses it or its PV controller cannot bind it, and the module explains it.
    BeforeAll {
        $cluster = Start-FakeCluster -Namespace vms -Scenario @{
            namespaces                      = @('vms', 'local')
            storageClasses                  = @(
                @{ name = 'standard'; default = $true }
                @{ name = 'broken'; provisioner = 'example.com/broken' }
                @{ name = 'manual'; provisioner = 'kubernetes.io/no-provisioner' }
            )
            cdi                             = @{ version = 'v1.66.0' }
            failingProvisioners             = @{ 'example.com/broken' = 'rpc error: code = ResourceExhausted desc = pool full' }
            dataVolumeStepDelayMilliseconds = 50
            objects                         = @(
                @{ apiVersion = 'v1'; kind = 'ResourceQuota'; metadata = @{ name = 'storage'; namespace = 'vms' }; spec = @{ hard = @{ 'requests.storage' = '30Gi' } } }
                @{ apiVersion = 'v1'; kind = 'PersistentVolume'; metadata = @{ name = 'disk-block' }
                    spec = @{ storageClassName = 'manual'; capacity = @{ storage = '10Gi' }; accessModes = @('ReadWriteOnce'); volumeMode = 'Block'; persistentVolumeReclaimPolicy = 'Retain' }
                    status = @{ phase = 'Available' } }
            )
        }
        $kc = @{ KubeConfig = $cluster.Kubeconfig }
    }
    AfterAll { Stop-FakeCluster $cluster }

    It 'a quota that refuses the scratch PVC: warned at creation, named while waiting, and the import goes on once the quota grows' {
        # 10Gi with the storage API: the target and CDI's prime PVC take 21.2Gi of the 30Gi; the scratch PVC does not fit.
        New-CdiDataVolume held -Url https://images.example/held.qcow2 -Size 10Gi @kc -WarningVariable created -WarningAction SilentlyContinue | Out-Null
        Wait-CdiDataVolume held -Timeout 4 @kc -WarningVariable waited -WarningAction SilentlyContinue -ErrorVariable failure -ErrorAction SilentlyContinue | Out-Null
        $problem = (Get-CdiDataVolume held @kc).ScratchProblem

        "$created" | Should -Match 'ScratchQuotaExceeded: ResourceQuota vms/storage'
        @($waited | Where-Object { "$_" -match 'ScratchQuotaExceeded' }).Count | Should -Be 1
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'WaitTimedOut,*'
        $problem.Id | Should -Be 'ScratchQuotaExceeded'
        $problem.Message | Should -Match '^CDI cannot create the scratch PVC vms/prime-[0-9a-f-]+-scratch \(refused \d+ times\): persistentvolumeclaims "prime-[0-9a-f-]+-scratch" is forbidden: exceeded quota: storage, requested: requests.storage='

        Invoke-FakeCluster $cluster '/api/v1/namespaces/vms/resourcequotas/storage' -Method Patch -Body '{"spec":{"hard":{"requests.storage":"100Gi"}}}' | Out-Null
        (Wait-CdiDataVolume held -Timeout 60 @kc -WarningAction SilentlyContinue).Phase | Should -Be 'Succeeded'
        Get-CdiScratchVolume @kc | Should -BeNullOrEmpty -Because 'CDI deletes the scratch PVC when the import ends'
    }

    It 'a scratch class whose provisioner fails: the provisioner''s message, in Get-CdiScratchVolume and Get-CdiDataVolume' {
        Set-CdiScratchStorageClass broken -Wait -Timeout 30 @kc -Confirm:$false | Out-Null
        try {
            New-CdiDataVolume failing -Url https://images.example/failing.qcow2 -Size 1Gi @kc -WarningAction SilentlyContinue | Out-Null
            $scratch = $null
            for ($i = 0; $i -lt 100 -and -not $scratch.PendingCause; $i++) { Start-Sleep -Milliseconds 100; $scratch = Get-CdiScratchVolume -DataVolume failing @kc }

            $scratch.StorageClass | Should -Be 'broken'
            $scratch.PendingCause.Id | Should -Be 'ScratchProvisioningFailed'
            $scratch.PendingCause.Message | Should -Match 'pool full'
            (Get-CdiDataVolume failing @kc).ScratchProblem.Id | Should -Be 'ScratchProvisioningFailed'
        }
        finally {
            Set-CdiScratchStorageClass -Clear -Wait -Timeout 30 @kc -Confirm:$false | Out-Null
            Remove-CdiDataVolume failing -Force @kc
        }
    }

    It 'a Block DataVolume on hand-made volumes with no second, Filesystem volume for scratch; it binds once one is made' {
        New-CdiDataVolume static -Namespace local -Url https://images.example/static.qcow2 -Size 10Gi -StorageClass manual -VolumeMode Block -AccessMode ReadWriteOnce @kc -WarningVariable created -WarningAction SilentlyContinue | Out-Null
        $problem = $null
        for ($i = 0; $i -lt 100 -and -not $problem; $i++) { Start-Sleep -Milliseconds 100; $problem = (Get-CdiDataVolume static -Namespace local @kc).ScratchProblem }

        "$created" | Should -Match 'ScratchNoMatchingPersistentVolume' -Because 'the preflight saw it coming'
        $problem.Id | Should -Be 'ScratchNoMatchingPersistentVolume'
        $problem.Message | Should -Match "class 'manual'.*at least 10855Mi"
        $problem.Fix | Should -Match 'capacity 10855Mi or more'

        Invoke-FakeCluster $cluster '/api/v1/persistentvolumes' -Method Post -ContentType 'application/json' -Body (@{
                apiVersion = 'v1'; kind = 'PersistentVolume'; metadata = @{ name = 'scratch-fs' }
                spec = @{ storageClassName = 'manual'; capacity = @{ storage = '11Gi' }; accessModes = @('ReadWriteOnce'); volumeMode = 'Filesystem'; persistentVolumeReclaimPolicy = 'Retain' }
            } | ConvertTo-Json -Depth 5) | Out-Null
        (Wait-CdiDataVolume static -Namespace local -Timeout 60 @kc).Phase | Should -Be 'Succeeded'
    }
}
