BeforeAll {
    Import-Module $env:CDITOOLS_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force

    $script:Scenario = @{
        namespaces     = @('vms', 'other')
        storageClasses = @(@{ name = 'standard'; default = $true }, @{ name = 'fast' })
        cdi            = @{ version = 'v1.66.0' }
    }
    $script:DvPath = '/apis/cdi.kubevirt.io/v1beta1/namespaces/vms/datavolumes'
    $script:Password = 'p@ss-w0rd-never-shown'
    $script:Reader = [pscredential]::new('reader', (ConvertTo-SecureString $Password -AsPlainText -Force))

    function script:New-TestPem {
        $key = [Security.Cryptography.ECDsa]::Create()
        $request = [Security.Cryptography.X509Certificates.CertificateRequest]::new('CN=Pester CA', $key, [Security.Cryptography.HashAlgorithmName]::SHA256)
        $request.CreateSelfSigned([DateTimeOffset]::UtcNow.AddDays(-1), [DateTimeOffset]::UtcNow.AddDays(1)).ExportCertificatePem()
    }
}

Describe 'New-CdiDataVolume -AsManifest (no cluster)' {
    BeforeAll {
        $saved = $env:KUBECONFIG
        $env:KUBECONFIG = Join-Path $TestDrive 'no-such-kubeconfig'
    }
    AfterAll { $env:KUBECONFIG = $saved }

    It 'writes the DataVolume as CDI''s example has it' {
        $yaml = New-CdiDataVolume registry-image-datavolume -RegistryUrl docker://kubevirt/fedora-cloud-registry-disk-demo -Size 5Gi -AsManifest

        $yaml | Should -BeOfType [string]
        $yaml | Should -Match '(?m)^kind: DataVolume$'
        $yaml | Should -Match '(?m)^      url: docker://kubevirt/fedora-cloud-registry-disk-demo$'
        $yaml | Should -Match '(?m)^        storage: 5Gi$'
        $yaml | Should -Not -Match 'namespace:'
    }

    It 'hides the Secret''s values unless -IncludeSecretValues' {
        $hidden = New-CdiDataVolume web -Url https://images.example/disk.img -Size 10GB -Credential $Reader -Namespace vms -AsManifest
        $shown = New-CdiDataVolume web -Url https://images.example/disk.img -Size 10GB -Credential $Reader -Namespace vms -AsManifest -IncludeSecretValues

        $hidden | Should -Not -Match ([regex]::Escape($Password))
        $hidden | Should -Match 'secretKey: <redacted>'
        $shown | Should -Match "secretKey: $([regex]::Escape($Password))"
        @($hidden -split '(?m)^---$' | Where-Object { $_.Trim() }) | Should -HaveCount 2
        $hidden | Should -Match '\A---\n'
        $null = New-CdiDataVolume web -Url https://images.example/disk.img -Size 10GB -Credential $Reader -AsManifest -WarningVariable redactedWarning -WarningAction SilentlyContinue
        $null = New-CdiDataVolume web -Url https://images.example/disk.img -Size 10GB -Credential $Reader -AsManifest -IncludeSecretValues -WarningVariable shownWarning -WarningAction SilentlyContinue
        "$redactedWarning" | Should -Match 'kubectl create secret generic web-source-credentials --from-literal=accessKeyId=\.\.\. --from-literal=secretKey=\.\.\.'
        $shownWarning | Should -BeNullOrEmpty
        $hidden | Should -Match '(?m)^  namespace: vms$'
    }

    It 'writes one YAML document per object when manifests are piped on, so kubectl apply gets every one' {
        $csv = Join-Path $TestDrive 'dvs.csv'
        "Name,Url,Size`nweb-1,https://images.example/a.img,1Gi`nweb-2,https://images.example/b.img,2Gi" | Set-Content $csv

        $stream = (Import-Csv $csv | New-CdiDataVolume -AsManifest) -join "`n"

        $documents = @($stream -split '(?m)^---$' | Where-Object { $_.Trim() })
        $documents | Should -HaveCount 2
        ($documents | ForEach-Object { if ($_ -match '(?m)^  name: (\S+)$') { $Matches[1] } }) | Should -Be @('web-1', 'web-2')
    }

    It 'takes -Uri for -Url, as Import-CdiImage names it' {
        $yaml = New-CdiDataVolume disk -Uri https://images.example/disk.qcow2 -Size 1Gi -AsManifest

        $yaml | Should -Match '(?m)^      url: https://images.example/disk.qcow2$'
    }

    It 'refuses what CDI would refuse: <Id>' -ForEach @(
        @{ Arguments = @{ Upload = $true; Size = 5 }; Id = 'SizeTooSmall' }
        @{ Arguments = @{ Upload = $true }; Id = 'SizeMissing' }
        @{ Arguments = @{ Url = 'https://x/root.tar'; ContentType = 'archive'; VolumeMode = 'Block'; Size = '1Gi' }; Id = 'ArchiveOnBlock' }
        @{ Arguments = @{ Blank = $true; ContentType = 'archive'; Size = '1Gi' }; Id = 'ArchiveNotSupported' }
        @{ Arguments = @{ ImageStream = 'fedora'; Size = '1Gi' }; Id = 'ImageStreamNeedsNodePull' }
        @{ Arguments = @{ RegistryUrl = 'https://quay.io/x'; Size = '1Gi' }; Id = 'InvalidRegistryUrl' }
        @{ Arguments = @{ Url = 'https://x/d.img'; Checksum = 'sha256:abc'; Size = '1Gi' }; Id = 'InvalidChecksum' }
    ) {
        $result = New-CdiDataVolume disk @Arguments -AsManifest -ErrorVariable failure -ErrorAction SilentlyContinue

        $result | Should -BeNullOrEmpty
        $failure[0].FullyQualifiedErrorId | Should -BeLike "$Id,*"
        $failure[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'reports every problem of one request' {
        New-CdiDataVolume Bad_Name -Upload -Size 5 -AsManifest -ErrorVariable failure -ErrorAction SilentlyContinue

        $failure.FullyQualifiedErrorId | ForEach-Object { ($_ -split ',')[0] } | Should -Be @('InvalidName', 'SizeTooSmall')
    }

    It 'says what is wrong with a size it cannot read' {
        New-CdiDataVolume disk -Upload -Size 'ten gigs' -AsManifest -ErrorVariable failure -ErrorAction SilentlyContinue

        $failure[0].FullyQualifiedErrorId | Should -BeLike 'InvalidSize,*'
        "$($failure[0])" | Should -Match 'Kubernetes quantity'
    }
}

Describe 'New-, Get- and Remove-CdiDataVolume against a cluster' {
    BeforeEach { $cluster = Start-FakeCluster -Scenario $Scenario -Namespace vms }
    AfterEach { Stop-FakeCluster $cluster }

    It 'creates the DataVolume, its Secret and ConfigMap, owned by it, and predicts scratch space' {
        $pem = New-TestPem
        $caFile = Join-Path $TestDrive 'ca.pem'
        Set-Content $caFile $pem

        $dv = New-CdiDataVolume fedora -Url https://images.example/fedora.qcow2.xz -Size 20Gi -Credential $Reader -CertificateFile $caFile -KubeConfig $cluster.Kubeconfig

        $dv.Name | Should -BeExactly 'fedora'
        $dv.Namespace | Should -BeExactly 'vms'
        $dv.Size | Should -Be 20GB
        $dv.Source | Should -BeExactly 'http https://images.example/fedora.qcow2.xz'
        $dv.RequiresScratch | Should -BeTrue
        $dv.ScratchStorageClass | Should -BeExactly 'standard'
        $stored = Invoke-FakeCluster $cluster "$DvPath/fedora"
        $stored.spec.source.http.secretRef | Should -BeExactly 'fedora-source-credentials'
        $stored.spec.source.http.certConfigMap | Should -BeExactly 'fedora-source-ca'
        $secret = Invoke-FakeCluster $cluster '/api/v1/namespaces/vms/secrets/fedora-source-credentials'
        [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($secret.data.secretKey)) | Should -BeExactly $Password
        $secret.metadata.ownerReferences[0].uid | Should -BeExactly $stored.metadata.uid
        (Invoke-FakeCluster $cluster '/api/v1/namespaces/vms/configmaps/fedora-source-ca').metadata.ownerReferences[0].name | Should -BeExactly 'fedora'
    }

    It 'never shows the password in verbose output or errors' {
        $verbose = New-CdiDataVolume web -Url https://images.example/disk.img -Size 1Gi -Credential $Reader -KubeConfig $cluster.Kubeconfig -Verbose 4>&1
        New-CdiDataVolume web -Url https://images.example/disk.img -Size 1Gi -Credential $Reader -KubeConfig $cluster.Kubeconfig -ErrorVariable failure -ErrorAction SilentlyContinue

        (@($verbose) + @($failure) | Out-String) | Should -Not -Match ([regex]::Escape($Password))
        ($verbose -join "`n") | Should -Match 'Created Secret vms/web-source-credentials'
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'DataVolumeExists,*'
        $failure[0].CategoryInfo.Category | Should -Be 'ResourceExists'
    }

    It '-WhatIf creates nothing' {
        $result = New-CdiDataVolume web -Url https://images.example/disk.img -Size 1Gi -Credential $Reader -KubeConfig $cluster.Kubeconfig -WhatIf

        $result | Should -BeNullOrEmpty
        @((Invoke-FakeCluster $cluster $DvPath).items) | Should -HaveCount 0
        @((Invoke-FakeCluster $cluster '/api/v1/namespaces/vms/secrets').items) | Should -HaveCount 0
    }

    It 'fails early when a Secret it should use does not exist' {
        New-CdiDataVolume web -Url https://images.example/disk.img -Size 1Gi -SecretName missing -KubeConfig $cluster.Kubeconfig -ErrorVariable failure -ErrorAction SilentlyContinue

        $failure[0].FullyQualifiedErrorId | Should -BeLike 'SecretNotFound,*'
        "$($failure[0])" | Should -Match 'vms/missing'
        @((Invoke-FakeCluster $cluster $DvPath).items) | Should -HaveCount 0
    }

    It 'creates one DataVolume per CSV row' {
        $rows = @"
Name,Url,Size,StorageClass
csv-a,https://images.example/a.img,1Gi,fast
csv-b,https://images.example/b.qcow2,2Gi,
"@ | ConvertFrom-Csv

        $made = $rows | New-CdiDataVolume -KubeConfig $cluster.Kubeconfig

        $made.Name | Should -Be @('csv-a', 'csv-b')
        $made[0].StorageClass | Should -BeExactly 'fast'
        $made[1].StorageClass | Should -BeNullOrEmpty
        $made[1].Size | Should -Be 2GB
    }

    It 'gets by name and pattern, reports a plain name that is missing, and spans namespaces' {
        foreach ($name in 'web-1', 'web-2', 'db') { New-CdiDataVolume $name -Blank -Size 1Gi -KubeConfig $cluster.Kubeconfig | Out-Null }
        New-CdiDataVolume web-9 -Blank -Size 1Gi -Namespace other -KubeConfig $cluster.Kubeconfig | Out-Null

        (Get-CdiDataVolume -KubeConfig $cluster.Kubeconfig).Name | Should -Be @('db', 'web-1', 'web-2')
        (Get-CdiDataVolume web-* -KubeConfig $cluster.Kubeconfig).Name | Should -Be @('web-1', 'web-2')
        (Get-CdiDataVolume web-* -AllNamespaces -KubeConfig $cluster.Kubeconfig | ForEach-Object { "$_" }) | Should -Be @('other/web-9', 'vms/web-1', 'vms/web-2')
        $found = Get-CdiDataVolume db, ghost, nothing-* -KubeConfig $cluster.Kubeconfig -ErrorVariable failure -ErrorAction SilentlyContinue
        $found.Name | Should -Be 'db'
        $failure | Should -HaveCount 1
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'DataVolumeNotFound,*'
        (Get-CdiDataVolume -KubeConfig $cluster.Kubeconfig | Out-String) | Should -Match 'Namespace: vms'
    }

    It 'removes what is piped to it with -Force, and reports one that is not there' {
        foreach ($name in 'tmp-1', 'tmp-2', 'keep') { New-CdiDataVolume $name -Blank -Size 1Gi -KubeConfig $cluster.Kubeconfig | Out-Null }

        Get-CdiDataVolume tmp-* -KubeConfig $cluster.Kubeconfig | Remove-CdiDataVolume -Force -KubeConfig $cluster.Kubeconfig
        Remove-CdiDataVolume ghost -Force -KubeConfig $cluster.Kubeconfig -ErrorVariable failure -ErrorAction SilentlyContinue

        @((Invoke-FakeCluster $cluster $DvPath).items.metadata.name) | Should -Be @('keep')
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'DataVolumeNotFound,*'
    }

    It 'takes wildcards and NAMESPACE/NAME in Remove-, Get- and Wait-CdiDataVolume' {
        foreach ($name in 'small-1', 'small-2', 'big') { New-CdiDataVolume $name -Blank -Size 1Gi -KubeConfig $cluster.Kubeconfig | Out-Null }
        New-CdiDataVolume elsewhere -Blank -Size 1Gi -Namespace other -KubeConfig $cluster.Kubeconfig | Out-Null

        (Get-CdiDataVolume other/elsewhere -KubeConfig $cluster.Kubeconfig).Namespace | Should -Be 'other'
        (Wait-CdiDataVolume other/elsewhere -Timeout 30 -KubeConfig $cluster.Kubeconfig).Name | Should -Be 'elsewhere'
        Remove-CdiDataVolume 'small*' -Force -KubeConfig $cluster.Kubeconfig
        Remove-CdiDataVolume other/elsewhere -Force -KubeConfig $cluster.Kubeconfig

        @((Invoke-FakeCluster $cluster $DvPath).items.metadata.name) | Should -Be @('big')
        @((Invoke-FakeCluster $cluster '/apis/cdi.kubevirt.io/v1beta1/namespaces/other/datavolumes').items) | Should -HaveCount 0
    }

    It 'removes nothing with -WhatIf, even with -Force' {
        New-CdiDataVolume keep -Blank -Size 1Gi -KubeConfig $cluster.Kubeconfig | Out-Null

        Remove-CdiDataVolume keep -Force -WhatIf -KubeConfig $cluster.Kubeconfig

        @((Invoke-FakeCluster $cluster $DvPath).items) | Should -HaveCount 1
    }
}

Describe 'Wait-CdiDataVolume' {
    BeforeAll {
        $waitScenario = @{
            namespaces                      = @('vms')
            storageClasses                  = @(@{ name = 'standard'; default = $true }, @{ name = 'lazy'; volumeBindingMode = 'WaitForFirstConsumer' })
            cdi                             = @{ version = 'v1.66.0' }
            dataVolumeStepDelayMilliseconds = 50
            importFailures                  = @(@{ namespace = 'vms'; name = 'small'; tooSmall = @{ virtualSize = 10GB; availableSize = 1020054732 } })
        }
        $cluster = Start-FakeCluster -Scenario $waitScenario -Namespace vms
    }
    AfterAll { Stop-FakeCluster $cluster }

    It 'follows New-CdiDataVolume to success and returns the DataVolume as it ends' {
        $verbose = $($done = New-CdiDataVolume ok -Url https://images.example/ok.qcow2 -Size 1Gi -KubeConfig $cluster.Kubeconfig |
                Wait-CdiDataVolume -KubeConfig $cluster.Kubeconfig -Verbose) 4>&1

        $done.Phase | Should -BeExactly 'Succeeded'
        $done.Progress | Should -BeExactly '100.0%'
        ($verbose -join "`n") | Should -Match 'vms/ok: phase ImportInProgress -> Succeeded'
    }

    It 'turns an import CDI only retries into an error with the size the image needs' {
        New-CdiDataVolume small -Url https://images.example/big.qcow2 -Size 1Gi -KubeConfig $cluster.Kubeconfig | Out-Null

        $result = Wait-CdiDataVolume small -KubeConfig $cluster.Kubeconfig -Timeout 60 -ErrorVariable failure -ErrorAction SilentlyContinue -WarningAction SilentlyContinue

        $result | Should -BeNullOrEmpty
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'ImportFailing,*'
        $failure[0].CategoryInfo.Category | Should -Be 'InvalidResult'
        "$($failure[0])" | Should -Match 'too small'
        $failure[0].ErrorDetails.RecommendedAction | Should -Match 'ask for -Size 10Gi or more'
    }

    It 'warns about a class that waits for the first consumer and times out saying so' {
        New-CdiDataVolume lazy -Url https://images.example/ok.qcow2 -Size 1Gi -StorageClass lazy -KubeConfig $cluster.Kubeconfig | Out-Null

        Wait-CdiDataVolume lazy -KubeConfig $cluster.Kubeconfig -Timeout 2 -ErrorVariable failure -ErrorAction SilentlyContinue -WarningVariable warned -WarningAction SilentlyContinue

        $failure[0].FullyQualifiedErrorId | Should -BeLike 'WaitTimedOut,*'
        $failure[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
        "$warned" | Should -Match '-BindImmediately'
    }

    It 'waits for everything piped to it together, and names one that does not exist' {
        foreach ($name in 'multi-1', 'multi-2') { New-CdiDataVolume $name -Blank -Size 1Gi -KubeConfig $cluster.Kubeconfig | Out-Null }

        $done = 'multi-1', 'multi-2', 'ghost' | Wait-CdiDataVolume -KubeConfig $cluster.Kubeconfig -ErrorVariable failure -ErrorAction SilentlyContinue

        $done.Name | Should -Be @('multi-1', 'multi-2')
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'DataVolumeNotFound,*'
    }
}

Describe 'A cluster that cannot be reached' {
    It 'is ClusterUnreachable, naming the server and the kubeconfig, from every cluster cmdlet' {
        $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop()
        $kubeconfig = Join-Path $TestDrive 'unreachable.yaml'
        @"
apiVersion: v1
kind: Config
current-context: x
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:$port
    insecure-skip-tls-verify: true
users:
- name: u
  user:
    token: t
contexts:
- name: x
  context:
    cluster: c
    user: u
"@ | Set-Content $kubeconfig
        $calls = @(
            { Get-CdiDataVolume -KubeConfig $kubeconfig }
            { Get-CdiScratchStorageClass -KubeConfig $kubeconfig }
            { New-CdiDataVolume a -Blank -Size 1Gi -KubeConfig $kubeconfig }
            { Remove-CdiDataVolume a -Force -KubeConfig $kubeconfig }
            { Set-CdiScratchStorageClass fast -Confirm:$false -KubeConfig $kubeconfig }
            { Wait-CdiDataVolume a -Timeout 5 -KubeConfig $kubeconfig }
        )

        foreach ($call in $calls) {
            $failure = $null
            try { $ErrorActionPreference = 'Stop'; & $call } catch { $failure = $_ } finally { $ErrorActionPreference = 'Continue' }
            $failure.FullyQualifiedErrorId | Should -BeLike 'ClusterUnreachable,*' -Because "$call"
            $failure.CategoryInfo.Category | Should -Be 'ConnectionError'
            "$failure" | Should -Match ([regex]::Escape("https://127.0.0.1:$port"))
            "$failure" | Should -Match ([regex]::Escape($kubeconfig))
        }
    }
}
