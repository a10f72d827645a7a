# What each documented example does, keyed by its exact text (see Examples.Tests.ps1; a comment
# at the end of a line is not part of the key). Check: param($Result, $Sandbox, $Cluster),
# asserting with Should. Optional: Seed (DataVolumes to add, @{ Name; Namespace; Size; Phase }), Setup (run
# before the example in its session: what the reader did first), Probe (run after it; its output
# is $Result.Probe), Warning (a pattern every warning must match), InRepository (run in the
# repository's root), NoModule (the example imports the module itself), StepDelayMilliseconds
# (how long the fake CDI takes for each step of an import; 20 by default).

$GiB = 2GB
$dvPath = '/apis/cdi.kubevirt.io/v1beta1/namespaces/vms/datavolumes'
$hcoPath = '/apis/hco.kubevirt.io/v1beta1/namespaces/kubevirt-hyperconverged/hyperconvergeds/kubevirt-hyperconverged'
$configPath = '/apis/cdi.kubevirt.io/v1beta1/cdiconfigs/config'

# The grid's first heading names the matrix it shows.
$grid = { param($Title) { param($r) $r.Output | Should -Match "Matrix: $Title"; $r.Output | Should -Match '(?m)^Kubevirt\s+Qcow2\s' }.GetNewClosure() }
# The raw disk of the sample: 2 GiB, sparse, and as the local conversion of the same image gives it.
$rawDisk = { param($Sandbox, $Name) $file = Get-Item (Join-Path $Sandbox.Work $Name); $file.Length | Should -Be $GiB }
# An upload DataVolume that CDI has filled.
$uploaded = {
    param($Cluster, $Name, $Class)
    $dv = Get-FakeDataVolume $Cluster $Name
    $dv | Should -Not -BeNullOrEmpty -Because "the DataVolume $Name is created"
    $dv.spec.source.PSObject.Properties.Name | Should -Be 'upload'
    $dv.status.phase | Should -Be 'Succeeded'
    if ($Class) { $dv.spec.storage.storageClassName | Should -Be $Class }
}
$uploadedPair = { param($r, $s, $c) & $uploaded $c 'alpine' $null; & $uploaded $c 'debian' $null }
$noScratchClass = { param($r) $r.Objects[0].Effective | Should -BeNullOrEmpty; $r.Output | Should -Match 'DataVolume''s own storage class' }
$dvClass = { param($r) $r.Objects[0].DataVolume | Should -Be 'vms/fedora-disk'; $r.Objects[0].ScratchClass | Should -Be 'standard' }
$manifest = {
    param($File)
    {
        param($r, $s)
        $yaml = Get-Content -Raw (Join-Path $s.Work $File)
        $yaml | Should -Match '(?m)^kind: DataVolume$'
        $yaml | Should -Match '(?m)^      url: https://images.example/fedora.qcow2.xz$'
        $yaml | Should -Match '(?m)^        storage: 20Gi$'
    }.GetNewClosure()
}
$created = {
    param($Name, $Source)
    {
        param($r, $s, $c)
        $dv = Get-FakeDataVolume $c $Name
        $dv | Should -Not -BeNullOrEmpty
        $dv.spec.source.PSObject.Properties.Name | Should -Be $Source
        $r.Objects[0].Name | Should -Be $Name
    }.GetNewClosure()
}
$httpWithSecrets = {
    param($r, $s, $c)
    $dv = Get-FakeDataVolume $c 'fedora'
    $dv.spec.source.http.url | Should -Be 'https://images.example/fedora.qcow2'
    $secret = Get-FakeObject $c "/api/v1/namespaces/vms/secrets/$($dv.spec.source.http.secretRef)"
    [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($secret.data.accessKeyId)) | Should -Be 'reader'
    (Get-FakeObject $c "/api/v1/namespaces/vms/configmaps/$($dv.spec.source.http.certConfigMap)").data.'ca.pem' | Should -Match 'BEGIN CERTIFICATE'
}
# Scratch PVCs as CDI and Kubernetes leave them: one Pending without a class or a volume (its
# DataVolume waits in ImportScheduled), and two whose claims are gone, in vms and in web.
$scratchClaim = {
    param($Name, $Namespace, $Size, $Class, $Phase)
    $claim = @{
        apiVersion = 'v1'; kind = 'PersistentVolumeClaim'
        metadata   = @{ name = $Name; namespace = $Namespace; labels = @{ app = 'containerized-data-importer'; 'app.kubernetes.io/managed-by' = 'cdi-controller' } }
        spec       = @{ accessModes = @('ReadWriteOnce'); resources = @{ requests = @{ storage = $Size } } }
        status     = @{ phase = $Phase }
    }
    if ($Class) { $claim.spec.storageClassName = $Class }
    $claim
}
$scratchSeed = @(
    @{ Name = 'stuck'; Namespace = 'vms'; Size = '20Gi'; Phase = 'ImportScheduled' }
    @{
        apiVersion = 'v1'; kind = 'PersistentVolumeClaim'
        metadata   = @{ name = 'stuck'; namespace = 'vms'; labels = @{ app = 'containerized-data-importer' }
            annotations = @{ 'cdi.kubevirt.io/storage.contentType' = 'kubevirt' }
            ownerReferences = @(@{ apiVersion = 'cdi.kubevirt.io/v1beta1'; kind = 'DataVolume'; name = 'stuck'; controller = $true }) }
        spec       = @{ accessModes = @('ReadWriteOnce'); resources = @{ requests = @{ storage = '21709Mi' } }; storageClassName = 'standard' }
        status     = @{ phase = 'Bound' }
    }
    & $scratchClaim 'stuck-scratch' 'vms' '21709Mi' $null 'Pending'
    @{
        apiVersion = 'v1'; kind = 'Event'
        metadata = @{ name = 'stuck-scratch.seeded'; namespace = 'vms' }
        involvedObject = @{ kind = 'PersistentVolumeClaim'; namespace = 'vms'; name = 'stuck-scratch'; apiVersion = 'v1' }
        reason = 'FailedBinding'; type = 'Normal'; count = 12
        message = 'no persistent volumes available for this claim and no storage class is set'
        source = @{ component = 'persistentvolume-controller' }
    }
    & $scratchClaim 'old-import-scratch' 'vms' '10Gi' 'fast' 'Bound'
    & $scratchClaim 'web-old-scratch' 'web' '5Gi' 'fast' 'Bound'
)
$scratchClaimPath = { param($Namespace, $Name) "/api/v1/namespaces/$Namespace/persistentvolumeclaims/$Name" }
$waited = {
    param($Name)
    {
        param($r, $s, $c)
        $r.Objects[0].Name | Should -Be $Name
        $r.Objects[0].Phase | Should -Be 'Succeeded'
        $r.Verbose -join "`n" | Should -Match $Name
    }.GetNewClosure()
}
$setFast = {
    param($r, $s, $c)
    (Invoke-FakeCluster $c $hcoPath).spec.scratchSpaceStorageClass | Should -Be 'fast-fs'
    (Invoke-FakeCluster $c $configPath).status.scratchSpaceStorageClass | Should -Be 'fast-fs'
}
$whatIf = {
    param($r, $s, $c)
    $r.HostOutput | Should -Match 'What if:.*fast-fs'
    (Invoke-FakeCluster $c $hcoPath).spec.scratchSpaceStorageClass | Should -BeNullOrEmpty
}

[ordered]@{
    "'Qcow2Xz', 'RawXz' | Get-CdiSupportMatrix -Endpoint Upload" = @{ Check = {
            param($r)
            $r.Objects.Format | Should -Be @('Qcow2Xz', 'RawXz')
            $r.Objects.Endpoint | Sort-Object -Unique | Should -Be 'Upload'
        } }
    "`$line = (Select-String '\(Fedora-Cloud.*qcow2\)' ./CHECKSUM).Line`nImport-CdiImage ./Fedora-Cloud.qcow2 ./fedora.raw -Checksum `$line" = @{ Check = { param($r, $s) & $rawDisk $s 'fedora.raw' } }
    "`$release = kubectl get cdi cdi -o jsonpath='{.status.observedVersion}'`nGet-CdiSupportMatrix -AsGrid -CdiVersion `$release" = @{ Check = (& $grid 'CDI v1.66.0') }
    'Get-CdiDataVolume' = @{ Check = { param($r) $r.Objects.Name | Should -Be @('fedora-disk', 'test-1', 'test-2', 'web-1') } }
    'Get-CdiDataVolume -AllNamespaces' = @{ Check = { param($r) $r.Objects | ForEach-Object { "$($_.Namespace)/$($_.Name)" } | Should -Be @('vms/fedora-disk', 'vms/test-1', 'vms/test-2', 'vms/web-1', 'web/web-2') } }
    'Get-CdiDataVolume -Name web-* -AllNamespaces | Format-List' = @{ Check = { param($r) $r.Output | Should -Match '(?s)Name\s+: web-1.*Namespace\s+: vms.*Name\s+: web-2.*Namespace\s+: web' } }
    'Get-CdiDataVolume test-* | Remove-CdiDataVolume -Force' = @{ Check = {
            param($r, $s, $c)
            Get-FakeDataVolume $c 'test-1' | Should -BeNullOrEmpty
            Get-FakeDataVolume $c 'test-2' | Should -BeNullOrEmpty
            Get-FakeDataVolume $c 'web-1' | Should -Not -BeNullOrEmpty
        } }
    'Get-CdiDataVolume web-* -AllNamespaces' = @{ Check = { param($r) $r.Objects | ForEach-Object { "$($_.Namespace)/$($_.Name)" } | Should -Be @('vms/web-1', 'web/web-2') } }
    'Get-CdiDataVolume web-* | Wait-CdiDataVolume -Timeout 1800' = @{ Check = { param($r) $r.Objects.Name | Should -Be 'web-1'; $r.Objects.Phase | Should -Be 'Succeeded' } }
    'Get-CdiImageInfo -Uri docker://quay.io/kubevirt/cirros-container-disk-demo:latest -Platform linux/arm64' = @{ Check = {
            param($r)
            $r.Objects[0].VirtualSize | Should -Be $GiB
            $r.Output | Should -Match 'registry > gzip > tar > qcow2'
        } }
    'Get-CdiImageInfo -Uri oci-archive:./cirros.tar' = @{ Check = { param($r) $r.Objects[0].VirtualSize | Should -Be $GiB; $r.Output | Should -Match 'oci-archive > gzip > tar > qcow2' } }
    'Get-CdiImageInfo ./disk.qcow2 | Format-List' = @{ Check = { param($r) $r.Output | Should -Match 'FormatChain\s+: qcow2'; $r.Output | Should -Match 'PvcSizeFilesystem\s+: 2171Mi \(2,276,332,667 bytes' } }
    'Get-CdiImageInfo ./disk.qcow2.xz' = @{ Check = { param($r) $r.Output | Should -Match 'disk\.qcow2\.xz\s+xz > qcow2\s+2 GiB.*2171Mi\s+2Gi' } }
    'Get-CdiImageInfo ./disk.qcow2.xz | Format-List' = @{ Check = { param($r) $r.Output | Should -Match 'FormatChain\s+: xz .*> qcow2'; $r.Output | Should -Match 'VirtualSize\s+: 2 GiB' } }
    'Get-CdiImageInfo ./disk.raw.gz -FilesystemOverhead 0.1 | Select-Object VirtualSize, FilesystemPvcQuantity' = @{ Check = { param($r) $r.Objects[0].VirtualSize | Should -Be 4MB; $r.Objects[0].FilesystemPvcQuantity | Should -Be '5Mi' } }
    'Get-CdiScratchStorageClass' = @{ Check = $noScratchClass }
    'Get-CdiScratchStorageClass -DataVolume fedora-disk -Namespace vms' = @{ Check = $dvClass }
    'Get-CdiScratchStorageClass fedora-disk -Namespace vms' = @{ Check = $dvClass }
    'Get-CdiSupportMatrix -AsGrid' = @{ Check = (& $grid 'CDI documentation') }
    'Get-CdiSupportMatrix -AsGrid -CdiVersion v1.66.0' = @{ Check = (& $grid 'CDI v1.66.0') }
    'Get-CdiSupportMatrix -CdiVersion 1.58.0 | Where-Object DiffersFromDocumentation' = @{ Check = {
            param($r)
            $r.Objects.Count | Should -BeGreaterThan 3
            $r.Objects | ForEach-Object { $_.Mark | Should -Not -Be $_.DocumentedMark }
        } }
    'Get-CdiSupportMatrix -CdiVersion 1.58.0 | Where-Object DiffersFromDocumentation | Format-Table Format, Endpoint, DocumentedMark, Mark, Note -Wrap' = @{ Check = { param($r) $r.Output | Should -Match 'Qcow2\s+Http\s+S\s+S\*\s+CDI''s documentation marks this S; v1\.58\.0 behaves as S\*' } }
    "Get-CdiSupportMatrix -Engine -CdiVersion v1.66.0 | Where-Object { `$_.ClientSide -and `$_.CdiMark -ne 'S' }" = @{ Check = {
            param($r)
            $r.Objects.Count | Should -BeGreaterThan 3
            $r.Objects | ForEach-Object { $_.ClientSide | Should -BeTrue; $_.ScratchBytes | Should -Be 0 }
        } }
    "Get-CdiSupportMatrix -Engine -CdiVersion v1.66.0 | Where-Object { `$_.ClientSide -and `$_.CdiMark -ne 'S' } | Format-Table Format, Endpoint, Access, ScratchBytes, CdiMark" = @{ Check = { param($r) $r.Output | Should -Match 'qcow2\s+Http\s+Random\s+0\s+S\*' } }
    'Get-CdiSupportMatrix -Format Qcow2 -Endpoint Https | Format-List *' = @{ Check = { param($r) $r.Output | Should -Match 'Format\s+: Qcow2'; $r.Output | Should -Match 'Endpoint\s+: Https'; $r.Output | Should -Match 'DiffersFromDocumentation' } }
    'Get-CdiSupportMatrix -RequiresScratch -CdiVersion v1.66.0 | Format-List Format, Endpoint, Condition, ScratchStorageClass' = @{ Check = { param($r) $r.Output | Should -Match 'ScratchStorageClass : The class set as scratchSpaceStorageClass if that StorageClass exists, else the DataVolume''s own class' } }
    'Get-CdiSupportMatrix -RequiresScratch -Endpoint Upload' = @{ Check = { param($r) $r.Objects.Count | Should -BeGreaterThan 3; $r.Objects | ForEach-Object { $_.Endpoint | Should -Be 'Upload'; $_.RequiresScratch | Should -BeTrue } } }
    'Get-ChildItem ./images/*.qcow2 | Import-CdiImage -Namespace vms -StorageClass fast' = @{ Check = { param($r, $s, $c) & $uploaded $c 'alpine' 'fast'; & $uploaded $c 'debian' 'fast' } }
    'Get-ChildItem ./images/*.qcow2 | Import-CdiImage -Namespace vms -ThrottleLimit 4' = @{ Check = $uploadedPair }
    'Get-ChildItem *.qcow2 | Import-CdiImage -Namespace vms' = @{ Check = { param($r, $s, $c) foreach ($name in 'disk', 'fedora', 'fedora-cloud') { & $uploaded $c $name $null } } }
    'Get-ChildItem *.qcow2.xz | Import-CdiImage -DestinationPath ./raw/' = @{ Check = { param($r, $s) & $rawDisk $s 'raw/disk.raw'; & $rawDisk $s 'raw/fedora.raw'; $r.Objects | Should -BeNullOrEmpty } }
    'Get-ChildItem *.qcow2.xz | Import-CdiImage -DestinationPath ./raw/ -PassThru' = @{ Check = {
            param($r, $s)
            & $rawDisk $s 'raw/disk.raw'
            $r.Objects | ForEach-Object { Split-Path -Leaf $_.Destination } | Should -Be @('disk.raw', 'fedora.raw')
            $r.Output | Should -Match 'fedora\.raw\s+xz > qcow2\s+2 GiB'
        } }
    'Import-CdiImage -Path ./fedora.qcow2 -DestinationPath ./fedora.raw' = @{ Check = { param($r, $s) & $rawDisk $s 'fedora.raw' } }
    'Import-CdiImage -Uri docker://quay.io/containerdisks/fedora:40 -DestinationPath ./ -Platform linux/amd64' = @{ Check = { param($r, $s) & $rawDisk $s 'fedora-40.raw' } }
    'Import-CdiImage -Uri docker://quay.io/containerdisks/fedora:40 -DestinationPath ./ -Platform linux/arm64' = @{ Check = { param($r, $s) & $rawDisk $s 'fedora-40.raw' } }
    'Import-CdiImage -Uri docker://registry.example.com/disks/win:2022 -Credential (Get-Credential) -CertificateFile ./registry-ca.pem -Namespace vms -Name win' = @{ Check = { param($r, $s, $c) & $uploaded $c 'win' $null } }
    'Import-CdiImage -Uri docker://registry.example.com/disks/win:2022 -Credential $cred -Namespace vms' = @{ Check = { param($r, $s, $c) & $uploaded $c 'win-2022' $null } }
    'Import-CdiImage -Uri https://images.example.com/disk.qcow2 -DestinationPath ./disk.raw -CertificateFile ./ca.pem' = @{ Check = { param($r, $s) & $rawDisk $s 'disk.raw' } }
    'Import-CdiImage -Uri https://images.example.com/disk.qcow2 -DestinationPath ./disk.raw -CertificateFile ./ca.pem -Credential (Get-Credential)' = @{ Check = { param($r, $s) & $rawDisk $s 'disk.raw' } }
    'Import-CdiImage ./disk.qcow2 -Namespace vms -NoConvert' = @{ Check = { param($r, $s, $c) & $uploaded $c 'disk' $null } }
    "Import-CdiImage ./Fedora-Cloud.qcow2 ./fedora.raw -Checksum (Select-String 'SHA256 \(Fedora-Cloud' ./CHECKSUM).Line" = @{ Check = { param($r, $s) & $rawDisk $s 'fedora.raw' } }
    'Import-CdiImage ./fedora.qcow2.xz -Namespace vms -Name fedora -PassThru' = @{ Probe = '(Get-CdiImageInfo ./fedora.qcow2.xz).FilesystemPvcSize'; Check = {
            param($r, $s, $c)
            & $uploaded $c 'fedora' $null
            $r.Objects[0].Name | Should -Be 'fedora'
            $r.Objects[0].Phase | Should -Be 'Succeeded'
            (Get-FakeDataVolume $c 'fedora').spec.storage.resources.requests.storage | Should -Be '2Gi' -Because 'the volume is sized from the disk inside the .xz'
            (Get-FakeObject $c '/api/v1/namespaces/vms/persistentvolumeclaims/fedora').spec.resources.requests.storage | Should -Be "$($r.Probe)" -Because 'CDI adds the filesystem overhead once'
        } }
    'Import-Csv dvs.csv | New-CdiDataVolume -Namespace vms' = @{ Check = {
            param($r, $s, $c)
            (Get-FakeDataVolume $c 'web-3').spec.source.http.url | Should -Be 'https://images.example/web-3.qcow2'
            (Get-FakeDataVolume $c 'db-1').spec.storage.resources.requests.storage | Should -Be '20Gi'
        } }
    'Import-Module ./out/CdiTools/0.1.0/CdiTools.psd1' = @{ InRepository = $true; NoModule = $true; Probe = '(Get-Module CdiTools).ModuleBase'; Check = {
            param($r)
            $r.Probe | Should -Match 'out[\\/]CdiTools[\\/]0\.1\.0$'
        } }
    'Install-PSResource -Name CdiTools -Repository CdiToolsLocal' = @{ InRepository = $true; NoModule = $true
        Setup = 'Register-PSResourceRepository -Name CdiToolsLocal -Uri "$PWD/out/packages" -Trusted'
        Probe = '(Get-Module CdiTools -ListAvailable).ModuleBase'
        Check = { param($r, $s) "$($r.Probe)" | Should -BeLike "$($s.Home)*CdiTools*" }
    }
    'kubectl get dv -n vms -o json | ConvertFrom-Json | ForEach-Object items | Get-CdiScratchStorageClass | Select-Object DataVolume, ScratchClass' = @{ Check = {
            param($r)
            $r.Objects.DataVolume | Should -Be @('vms/fedora-disk', 'vms/test-1', 'vms/test-2', 'vms/web-1')
            $r.Objects.ScratchClass | Sort-Object -Unique | Should -Be 'standard'
        } }
    'kubectl get sc fast-fs -o json | ConvertFrom-Json | Set-CdiScratchStorageClass' = @{ Check = { param($r, $s, $c) (Invoke-FakeCluster $c $hcoPath).spec.scratchSpaceStorageClass | Should -Be 'fast-fs' } }
    'New-CdiDataVolume big -Url https://images.example/big.qcow2 -Size 20Gi | Wait-CdiDataVolume -Verbose' = @{ StepDelayMilliseconds = 300; Check = (& $waited 'big') }
    'New-CdiDataVolume disk -Upload -Size 20Gi | Wait-CdiDataVolume -For UploadReady' = @{ Check = { param($r) $r.Objects[0].Name | Should -Be 'disk'; $r.Objects[0].Phase | Should -Be 'UploadReady' } }
    'New-CdiDataVolume fedora -Namespace vms -Url https://images.example/fedora.qcow2 -Size 20Gi -Credential (Get-Credential) -CertificateFile ./ca.pem' = @{ Check = $httpWithSecrets }
    'New-CdiDataVolume fedora -Upload -Size 20Gi -AsManifest' = @{ Check = {
            param($r, $s, $c)
            $r.Output | Should -Match '(?m)^    upload: \{\}$'
            Get-FakeDataVolume $c 'fedora' | Should -BeNullOrEmpty -Because '-AsManifest creates nothing'
        } }
    'New-CdiDataVolume fedora -Url https://images.example/f.qcow2 -Size 20Gi' = @{ Check = (& $created 'fedora' 'http') }
    'New-CdiDataVolume fedora -Url https://images.example/fedora.qcow2 -Size 20Gi -Credential (Get-Credential) -CertificateFile ./ca.pem' = @{ Check = $httpWithSecrets }
    'New-CdiDataVolume fedora -Url https://images.example/fedora.qcow2 -Size 20Gi | Wait-CdiDataVolume -Verbose' = @{ StepDelayMilliseconds = 300; Check = (& $waited 'fedora') }
    'New-CdiDataVolume fedora -Url https://images.example/fedora.qcow2.xz -Size 20Gi -AsManifest | Set-Content dv.yaml' = @{ Check = (& $manifest 'dv.yaml') }
    'New-CdiDataVolume fedora -Url https://images.example/fedora.qcow2.xz -Size 20Gi -AsManifest | Set-Content fedora-dv.yaml' = @{ Check = (& $manifest 'fedora-dv.yaml') }
    'New-CdiDataVolume rhel -RegistryUrl docker://quay.io/containerdisks/fedora:40 -PullMethod node -Size 10Gi' = @{ Check = { param($r, $s, $c) (Get-FakeDataVolume $c 'rhel').spec.source.registry.pullMethod | Should -Be 'node' } }
    'New-CdiDataVolume rhel -RegistryUrl docker://quay.io/containerdisks/fedora:40 -PullMethod node -Size 10Gi -StorageClass fast' = @{ Check = { param($r, $s, $c) (Get-FakeDataVolume $c 'rhel').spec.storage.storageClassName | Should -Be 'fast' } }
    'New-CdiDataVolume scratch -Blank -Size 50GB -StorageClass fast -BindImmediately' = @{ Check = {
            param($r, $s, $c)
            $dv = Get-FakeDataVolume $c 'scratch'
            $dv.spec.source.PSObject.Properties.Name | Should -Be 'blank'
            $dv.metadata.annotations.'cdi.kubevirt.io/storage.bind.immediate.requested' | Should -Be 'true'
        } }
    'New-CdiDataVolume target -Upload -Size 30Gi | Import-CdiImage -Path ./disk.vmdk.gz' = @{ Check = {
            param($r, $s, $c)
            & $uploaded $c 'target' $null
            (Get-FakeDataVolume $c 'target').spec.storage.resources.requests.storage | Should -Be '30Gi'
        } }
    'New-CdiDataVolume vm1-root -SourcePvc fedora-golden -SourceNamespace images' = @{ Check = {
            param($r, $s, $c)
            $dv = Get-FakeDataVolume $c 'vm1-root'
            $dv.spec.source.pvc.name | Should -Be 'fedora-golden'
            $dv.spec.source.pvc.namespace | Should -Be 'images'
        } }
    'Register-PSResourceRepository -Name CdiToolsLocal -Uri "$PWD/out/packages" -Trusted' = @{ InRepository = $true; NoModule = $true
        Probe = '(Get-PSResourceRepository CdiToolsLocal).Uri.LocalPath'
        Check = { param($r) $r.Probe | Should -Match 'out[\\/]packages[\\/]?$' }
    }
    'Remove-CdiDataVolume fedora -Namespace vms' = @{ Seed = @(@{ Name = 'fedora'; Namespace = 'vms' })
        Setup = '$ConfirmPreference = ''None'''   # the reader answers Yes to the prompt
        Check = { param($r, $s, $c) Get-FakeDataVolume $c 'fedora' | Should -BeNullOrEmpty; Get-FakeDataVolume $c 'fedora-disk' | Should -Not -BeNullOrEmpty }
    }
    'Set-CdiScratchStorageClass -Clear' = @{ Setup = 'Set-CdiScratchStorageClass fast-fs -Wait'; Check = { param($r, $s, $c) (Invoke-FakeCluster $c $hcoPath).spec.scratchSpaceStorageClass | Should -BeNullOrEmpty } }
    'Set-CdiScratchStorageClass -Clear -PassThru' = @{ Setup = 'Set-CdiScratchStorageClass fast-fs -Wait'; Check = {
            param($r, $s, $c)
            (Invoke-FakeCluster $c $hcoPath).spec.scratchSpaceStorageClass | Should -BeNullOrEmpty
            $r.Output | Should -Match 'Configured\s+: not set'
        } }
    'Set-CdiScratchStorageClass fast-fs -Wait -Verbose' = @{ Check = {
            param($r, $s, $c)
            & $setFast $r $s $c
            $r.Verbose -join "`n" | Should -Match 'HyperConverged'
        } }
    'Set-CdiScratchStorageClass fast-fs -WhatIf' = @{ Check = $whatIf }
    'Test-CdiScratchSpace -Url https://images.example/fedora.qcow2 -Size 20Gi -Namespace vms' = @{ Check = {
            param($r)
            $report = $r.Objects[0]
            $report.Ready | Should -BeTrue
            $report.ScratchRequired | Should -BeTrue
            $report.StorageClass | Should -Be 'standard'
            $report.TargetSize | Should -Be ([long][math]::Ceiling(20GB * 1.06))
            $report.Size | Should -Be (21709 * 1MB) -Because 'CDI takes the overhead out of the claim and puts the scratch class''s back, aligned to 1 MiB'
            $report.DataVolume | Should -Be 'vms/(planned)'
            $r.Output | Should -Match 'Resolution\s+:'
        } }
    'Test-CdiScratchSpace -Url https://images.example/f.qcow2 -Size 20Gi' = @{ Check = { param($r) $r.Objects[0].Ready | Should -BeTrue; $r.Objects[0].Size | Should -Be (21709 * 1MB) } }
    'Test-CdiScratchSpace -Upload -Size 30Gi -StorageClass fast -Quiet' = @{ Check = { param($r) $r.Objects | Should -Be @($true) } }
    'Get-CdiDataVolume -Namespace vms | Test-CdiScratchSpace | Select-Object DataVolume, Ready -ExpandProperty Findings' = @{ Seed = @(@{ Name = 'huge'; Namespace = 'vms'; Size = '450Gi'; Phase = 'ImportScheduled' })
        Check = {
            param($r)
            $quota = @($r.Objects | Where-Object Id -EQ 'ScratchQuotaExceeded')
            $quota.DataVolume | Should -Be 'vms/huge'
            $quota.Ready | Should -Be $false
            $quota.Message | Should -Match 'ResourceQuota vms/storage: requests.storage has .* of 500Gi .* used, and this import adds 477Gi .*\(the scratch PVC 477Gi'
            @($r.Objects | Where-Object Id -EQ 'ScratchNotRequired').DataVolume | Should -Be @('vms/fedora-disk', 'vms/test-1', 'vms/test-2', 'vms/web-1')
        }
    }
    'Get-CdiScratchVolume -Namespace vms' = @{ Seed = $scratchSeed
        Check = {
            param($r)
            $volumes = @($r.Objects | Where-Object Name -In 'stuck-scratch', 'old-import-scratch' | Sort-Object Name)
            $volumes.Name | Should -Be @('old-import-scratch', 'stuck-scratch')
            $volumes[0].Orphaned | Should -BeTrue
            $volumes[0].OrphanReason | Should -Be 'its PVC old-import is gone'
            $volumes[1].DataVolume | Should -Be 'stuck'
            $volumes[1].Orphaned | Should -BeFalse
            $volumes[1].PendingCause.Id | Should -Be 'ScratchNoMatchingPersistentVolume'
            $r.Output | Should -Match 'stuck-scratch\s+stuck\s+\(none\)\s+21.2 GiB\s+Pending'
            $r.Output | Should -Match 'ScratchNoMatchingPersistentVolume'
        }
    }
    'Get-CdiScratchVolume -Namespace vms | Where-Object PendingCause | Select-Object Name, DataVolume -ExpandProperty PendingCause' = @{ Seed = $scratchSeed
        Check = {
            param($r)
            $cause = @($r.Objects | Where-Object Name -EQ 'stuck-scratch')
            $cause.Count | Should -Be 1
            $cause[0].DataVolume | Should -Be 'stuck'
            $cause[0].Id | Should -Be 'ScratchNoMatchingPersistentVolume'
            $cause[0].Severity | Should -Be 'Error'
            $cause[0].Message | Should -Match 'at least 21709Mi'
            $cause[0].Fix | Should -Match 'capacity 21709Mi or more'
            @($r.Objects | Where-Object Name -EQ 'old-import-scratch').Count | Should -Be 0
        }
    }
    'Get-CdiScratchVolume -AllNamespaces | Group-Object StorageClass | Select-Object Name, Count, @{ Name = ''Bytes''; Expression = { ($_.Group | Measure-Object Size -Sum).Sum } }' = @{ Seed = $scratchSeed
        Check = {
            param($r)
            $fast = @($r.Objects | Where-Object Name -EQ 'fast')
            $fast.Count | Should -Be 1
            $fast[0].Count | Should -BeGreaterOrEqual 2
            $fast[0].Bytes | Should -BeGreaterOrEqual (15GB)
            @($r.Objects | Where-Object Name -EQ '').Bytes | Should -Be (21709MB)
        }
    }
    'Get-CdiScratchVolume -AllNamespaces -Orphaned | Remove-CdiScratchVolume -WhatIf' = @{ Seed = $scratchSeed
        Check = {
            param($r, $s, $c)
            $r.HostOutput | Should -Match 'What if: .*scratch PVC vms/old-import-scratch \(10 GiB, its PVC old-import is gone\)'
            $r.HostOutput | Should -Match 'What if: .*scratch PVC web/web-old-scratch'
            $r.HostOutput | Should -Not -Match 'stuck-scratch'
            Get-FakeObject $c (& $scratchClaimPath 'vms' 'old-import-scratch') | Should -Not -BeNullOrEmpty
        }
    }
    'Get-CdiScratchVolume -Namespace vms -Orphaned | Remove-CdiScratchVolume -Force' = @{ Seed = $scratchSeed
        Check = {
            param($r, $s, $c)
            Get-FakeObject $c (& $scratchClaimPath 'vms' 'old-import-scratch') | Should -BeNullOrEmpty
            Get-FakeObject $c (& $scratchClaimPath 'vms' 'stuck-scratch') | Should -Not -BeNullOrEmpty
            Get-FakeObject $c (& $scratchClaimPath 'web' 'web-old-scratch') | Should -Not -BeNullOrEmpty
        }
    }
    'Get-CdiDataVolume -Namespace vms | Where-Object ScratchProblem | Format-List Name, Phase, ScratchProblem' = @{ Seed = $scratchSeed
        Check = {
            param($r)
            $r.Output | Should -Match 'Name\s+: stuck\b'
            $r.Output | Should -Match 'Phase\s+: ImportScheduled'
            $r.Output | Should -Match 'ScratchProblem : Error ScratchNoMatchingPersistentVolume: The scratch PVC vms/stuck-scratch waits for a volume'
            $r.Output | Should -Not -Match 'fedora-disk'
        }
    }
    'Get-CdiDataVolume -Namespace vms | Test-CdiScratchSpace | Where-Object { -not $_.Ready }' = @{ Seed = @(@{ Name = 'huge'; Namespace = 'vms'; Size = '450Gi'; Phase = 'ImportScheduled' })
        Check = { param($r) $r.Objects.DataVolume | Should -Be 'vms/huge'; $r.Output | Should -Match 'ScratchQuotaExceeded' }
    }
}
