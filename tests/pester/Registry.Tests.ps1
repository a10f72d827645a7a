BeforeAll {
    Import-Module $env:CDITOOLS_MODULE -Force

    function Get-Sha256Hex([string] $Path) { (Get-FileHash $Path -Algorithm SHA256).Hash.ToLowerInvariant() }

    function Add-Blob([string] $Layout, [string] $File) {
        $hex = Get-Sha256Hex $File
        Copy-Item $File (Join-Path $Layout "blobs/sha256/$hex")
        [ordered]@{ digest = "sha256:$hex"; size = (Get-Item $File).Length }
    }

    # An OCI layout holding one container disk: a gzip layer with disk/disk.qcow2, as image builders write it.
    function New-ContainerDiskLayout([string] $Work, [string] $Disk) {
        $layout = Join-Path $Work 'layout'
        New-Item -ItemType Directory (Join-Path $layout 'blobs/sha256') -Force | Out-Null
        $rootfs = Join-Path $Work 'rootfs'
        New-Item -ItemType Directory (Join-Path $rootfs 'disk') -Force | Out-Null
        Copy-Item $Disk (Join-Path $rootfs 'disk/disk.qcow2')
        $layerFile = Join-Path $Work 'layer.tar.gz'
        & tar -C $rootfs -czf $layerFile disk
        if ($LASTEXITCODE) { throw 'tar failed' }
        $layer = Add-Blob $layout $layerFile
        $configFile = Join-Path $Work 'config.json'
        [ordered]@{ architecture = 'amd64'; os = 'linux'; rootfs = @{ type = 'layers'; diff_ids = @() } } | ConvertTo-Json -Compress | Set-Content $configFile -NoNewline
        $config = Add-Blob $layout $configFile
        $manifestFile = Join-Path $Work 'manifest.json'
        [ordered]@{
            schemaVersion = 2
            mediaType     = 'application/vnd.oci.image.manifest.v1+json'
            config        = [ordered]@{ mediaType = 'application/vnd.oci.image.config.v1+json' } + $config
            layers        = @([ordered]@{ mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip' } + $layer)
        } | ConvertTo-Json -Depth 5 -Compress | Set-Content $manifestFile -NoNewline
        $manifest = Add-Blob $layout $manifestFile
        [ordered]@{
            schemaVersion = 2
            manifests     = @([ordered]@{ mediaType = 'application/vnd.oci.image.manifest.v1+json'; annotations = @{ 'org.opencontainers.image.ref.name' = 'v1' } } + $manifest)
        } | ConvertTo-Json -Depth 5 -Compress | Set-Content (Join-Path $layout 'index.json') -NoNewline
        '{"imageLayoutVersion":"1.0.0"}' | Set-Content (Join-Path $layout 'oci-layout') -NoNewline
        $layout
    }

    function Get-FreePort {
        $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $listener.Start()
        try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
    }
}

Describe 'Import-CdiImage from a container registry' {
    BeforeAll {
        $work = Join-Path $TestDrive 'registry'
        New-Item -ItemType Directory $work | Out-Null
        $disk = Join-Path $work 'source.qcow2'
        & qemu-img create -q -f qcow2 $disk 16M
        & qemu-io -f qcow2 -c 'write -P 0x61 0 1M' -c 'write -P 0x62 9M 2M' $disk | Out-Null
        $raw = Join-Path $work 'qemu.raw'
        & qemu-img convert -O raw $disk $raw
        $expected = Get-Sha256Hex $raw
        $layout = New-ContainerDiskLayout $work $disk

        $port = Get-FreePort
        $config = Join-Path $work 'config.yml'
        @(
            'version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true',
            'storage:', '  filesystem:', "    rootdirectory: $(Join-Path $work 'storage')",
            'http:', "  addr: 127.0.0.1:$port"
        ) | Set-Content $config
        $registry = Start-Process docker-registry -ArgumentList 'serve', $config -PassThru -RedirectStandardError (Join-Path $work 'registry.log')
        $ready = $false
        foreach ($attempt in 1..200) {
            try { $client = [Net.Sockets.TcpClient]::new('127.0.0.1', $port); $client.Dispose(); $ready = $true; break } catch { Start-Sleep -Milliseconds 50 }
        }
        if (-not $ready) { throw "docker-registry did not listen on port $port" }
        & skopeo --insecure-policy copy --quiet --dest-tls-verify=false "oci:${layout}:v1" "docker://127.0.0.1:$port/kubevirt/cirros-container-disk-demo:v1"
        if ($LASTEXITCODE) { throw 'skopeo copy failed' }
        $image = "docker://127.0.0.1:$port/kubevirt/cirros-container-disk-demo:v1"
    }

    AfterAll {
        if ($registry -and -not $registry.HasExited) { $registry.Kill(); $registry.WaitForExit() }
    }

    It 'converts the disk under /disk, named from the repository, byte-identical to qemu-img' {
        $out = New-Item -ItemType Directory (Join-Path $work 'out')

        $result = Import-CdiImage -Uri $image -DestinationPath "$out/" -PassThru

        (Get-ChildItem $out).Name | Should -Be 'cirros-v1.raw'
        Get-Sha256Hex (Join-Path $out 'cirros-v1.raw') | Should -Be $expected
        $result.FormatChain[0] | Should -BeLike 'registry image*'
        $result.FormatChain[-1] | Should -Be 'qcow2'
    }

    It 'describes the image with Get-CdiImageInfo' {
        $info = Get-CdiImageInfo -Uri $image

        $info.VirtualSize | Should -Be 16MB
        $info.Format | Should -Be 'qcow2'
    }

    It 'reads the same image from an oci-archive path relative to the current location' {
        $archive = Join-Path $work 'disk.tar'
        & tar -C $layout -cf $archive .
        Push-Location $work
        try {
            Import-CdiImage -Uri 'oci-archive:disk.tar' -DestinationPath (Join-Path $work 'archive.raw')
        }
        finally { Pop-Location }

        Get-Sha256Hex (Join-Path $work 'archive.raw') | Should -Be $expected
    }

    It 'reports a missing tag as RegistryNotFound, writing nothing' {
        $target = Join-Path $work 'missing.raw'

        Import-CdiImage -Uri "docker://127.0.0.1:$port/kubevirt/cirros-container-disk-demo:nope" -DestinationPath $target -ErrorVariable failures -ErrorAction SilentlyContinue

        $failures[0].FullyQualifiedErrorId | Should -BeLike 'RegistryNotFound*'
        $failures[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        Test-Path $target | Should -BeFalse
    }

    It 'takes docker://name@sha256:... (a Docker Hub name by digest), which System.Uri alone refuses' {
        $digest = 'sha256:' + ('ab' * 32)
        $transform = [CdiTools.Runtime.ImageUriTransformationAttribute]::new()

        $uri = $transform.Transform($ExecutionContext, "docker://cirros@$digest")

        $uri | Should -BeOfType ([Uri])
        $uri.OriginalString | Should -Be "docker://docker.io/cirros@$digest"
        $transform.Transform($ExecutionContext, $image) | Should -Be $image
    }

    It 'refuses a malformed platform before any request' {
        Get-CdiImageInfo -Uri $image -Platform 'linux//arm64' -ErrorVariable failures -ErrorAction SilentlyContinue

        $failures[0].FullyQualifiedErrorId | Should -BeLike 'RegistryInvalidPlatform*'
    }
}
