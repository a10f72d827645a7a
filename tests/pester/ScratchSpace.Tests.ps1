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
        New-CdiDataVolume pending -Upload -Size 60Gi -KubeConfig $cluster.Kubeconfig | Out-Null

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
