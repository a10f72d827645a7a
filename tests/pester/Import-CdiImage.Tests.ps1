BeforeAll {
    Import-Module $env:CDITOOLS_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force

    function New-TestQcow2([string] $Path, [string] $Size = '64M') {
        & qemu-img create -q -f qcow2 $Path $Size
        & qemu-io -f qcow2 -c 'write -P 0x61 0 3M' -c 'write -z 8M 1M' -c 'write -P 0x62 40M 2M' $Path | Out-Null
        if ($LASTEXITCODE) { throw "qemu-io failed for $Path" }
    }

    function Get-QemuRawHash([string] $Image) {
        $raw = "$Image.qemu.raw"
        & qemu-img convert -O raw $Image $raw
        try { (Get-FileHash $raw -Algorithm SHA256).Hash } finally { Remove-Item $raw }
    }
}

Describe 'Import-CdiImage to a local file' {
    BeforeEach {
        $work = Join-Path $TestDrive ([guid]::NewGuid())
        New-Item -ItemType Directory $work | Out-Null
        $qcow2 = Join-Path $work 'disk.qcow2'
        New-TestQcow2 $qcow2
    }

    It 'converts a qcow2 to a raw disk byte-identical to qemu-img, sparse' {
        $result = Import-CdiImage -Path $qcow2 -DestinationPath (Join-Path $work 'disk.raw') -PassThru

        $result | Should -BeOfType ([CdiTools.CdiImportResult])
        (Get-FileHash (Join-Path $work 'disk.raw') -Algorithm SHA256).Hash | Should -Be (Get-QemuRawHash $qcow2)
        $result.VirtualSize | Should -Be 64MB
        $result.FormatChain | Should -Be @('qcow2')
        $result.AllocatedBytes | Should -BeLessThan 8MB
        $result.ScratchBytes | Should -Be 0
    }

    It 'takes files from Get-ChildItem and names each NAME.raw in a destination folder' {
        Copy-Item $qcow2 (Join-Path $work 'other.qcow2')
        & xz -T1 -0 $qcow2
        & zstd -q --rm (Join-Path $work 'other.qcow2')
        $out = New-Item -ItemType Directory (Join-Path $work 'out')

        $results = Get-ChildItem (Join-Path $work '*.qcow2.*') | Import-CdiImage -DestinationPath $out -PassThru

        $results | Should -HaveCount 2
        (Get-ChildItem $out).Name | Sort-Object | Should -Be @('disk.raw', 'other.raw')
        ($results.FormatChain | Where-Object { $_ -like 'xz*' }) | Should -Match 'liblzma'
    }

    It 'refuses inputs that would write the same file, before writing any, even with -Force: <Case>' -ForEach @(
        @{ Case = 'one base name in a folder'; Files = @('demo.vhd', 'demo.vhdx', 'demo.vdi.zst'); Destination = 'out/' }
        @{ Case = 'an image beside its compressed copy'; Files = @('x.qcow2', 'x.qcow2.xz'); Destination = 'out/' }
        @{ Case = 'one file for several inputs'; Files = @('a.qcow2', 'b.qcow2'); Destination = 'out/one.raw' }
    ) {
        New-Item -ItemType Directory (Join-Path $work 'out') | Out-Null
        foreach ($file in $Files) { Copy-Item $qcow2 (Join-Path $work $file) }
        Copy-Item $qcow2 (Join-Path $work 'alone.qcow2')
        $inputs = @($Files | ForEach-Object { Join-Path $work $_ })
        $destination = Join-Path $work $Destination

        $results = @($inputs + (Join-Path $work 'alone.qcow2') | Get-Item | Import-CdiImage -DestinationPath { if ($_.Name -eq 'alone.qcow2') { Join-Path $work 'out/alone.raw' } else { $destination } } -Force -PassThru -ErrorVariable failures -ErrorAction SilentlyContinue)

        $results.Destination | Should -Be @((Join-Path $work 'out/alone.raw'))
        (Get-ChildItem (Join-Path $work 'out')).Name | Should -Be @('alone.raw')
        $failures | Should -HaveCount $Files.Count
        $failures | ForEach-Object { $_.FullyQualifiedErrorId | Should -BeLike 'DestinationCollision,*' }
        foreach ($file in $Files) { ($failures | Out-String -Width 400) | Should -Match ([regex]::Escape($file)) }
    }

    It 'computes the destination per input from a delay-bind script block' {
        Copy-Item $qcow2 (Join-Path $work 'second.qcow2')

        Get-ChildItem (Join-Path $work '*.qcow2') | Import-CdiImage -DestinationPath { Join-Path $work "$($_.BaseName)-converted.img" }

        (Get-ChildItem (Join-Path $work '*-converted.img')).Name | Sort-Object | Should -Be @('disk-converted.img', 'second-converted.img')
    }

    It 'names the folder and the reason when the destination folder is missing' {
        $missing = Join-Path $work 'no-such-folder/disk.raw'

        Import-CdiImage -Path $qcow2 -DestinationPath $missing -ErrorVariable failure -ErrorAction SilentlyContinue

        $failure[0].FullyQualifiedErrorId | Should -BeLike 'DestinationFolderNotFound,*'
        $failure[0].TargetObject | Should -Be $missing
        "$($failure[0])" | Should -Match ([regex]::Escape((Join-Path $work 'no-such-folder')))
        "$($failure[0])" | Should -Not -Match 'partial'
    }

    It 'says under -WhatIf that an existing destination would fail without -Force' {
        $destination = Join-Path $work 'exists.raw'
        Set-Content $destination 'keep me'

        $run = Invoke-FreshPwsh "Import-Module '$env:CDITOOLS_MODULE'; Import-CdiImage -Path '$qcow2' -DestinationPath '$destination' -WhatIf"

        $run.Output | Should -Match 'without -Force this fails with DestinationExists'
        Get-Content $destination | Should -Be 'keep me'
    }

    It 'changes nothing with -WhatIf' {
        Import-CdiImage -Path $qcow2 -DestinationPath (Join-Path $work 'disk.raw') -WhatIf

        Join-Path $work 'disk.raw' | Should -Not -Exist
    }

    It 'refuses to overwrite without -Force, with DestinationExists, and overwrites with it' {
        $destination = Join-Path $work 'disk.raw'
        Set-Content $destination 'keep me'

        Import-CdiImage -Path $qcow2 -DestinationPath $destination -ErrorVariable failed -ErrorAction SilentlyContinue
        $failed[0].FullyQualifiedErrorId | Should -Be 'DestinationExists,CdiTools.Commands.ImportCdiImageCommand'
        $failed[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        Get-Content $destination | Should -Be 'keep me'

        Import-CdiImage -Path $qcow2 -DestinationPath $destination -Force
        (Get-Item $destination).Length | Should -Be 64MB
    }

    It 'checks -Checksum as it streams and leaves nothing when it does not match' {
        $sha = (Get-FileHash $qcow2 -Algorithm SHA256).Hash

        Import-CdiImage -Path $qcow2 -DestinationPath (Join-Path $work 'good.raw') -Checksum "sha256:$sha"
        Import-CdiImage -Path $qcow2 -DestinationPath (Join-Path $work 'bad.raw') -Checksum ('0' * 64) -ErrorVariable failed -ErrorAction SilentlyContinue

        Join-Path $work 'good.raw' | Should -Exist
        $failed[0].FullyQualifiedErrorId | Should -Be 'ChecksumMismatch,CdiTools.Commands.ImportCdiImageCommand'
        $failed[0].CategoryInfo.Category | Should -Be 'InvalidResult'
        (Get-ChildItem $work -Force).Name | Should -Not -Contain 'bad.raw'
        (Get-ChildItem $work -Force).Name | Where-Object { $_ -like '*.partial' } | Should -BeNullOrEmpty
    }

    It 'takes the checksum as sha256sum and BSD CHECKSUM files write it, shows it verified, and catches a line for another file' {
        $sha = (Get-FileHash $qcow2 -Algorithm SHA256).Hash.ToLowerInvariant()
        $md5 = (Get-FileHash $qcow2 -Algorithm MD5).Hash.ToLowerInvariant()
        Set-Content (Join-Path $work 'CHECKSUM') "SHA256 (other.qcow2) = $('1' * 64)`nSHA256 (disk.qcow2) = $sha"

        $line = (Select-String '\(disk.qcow2\)' (Join-Path $work 'CHECKSUM')).Line
        $bsd = Import-CdiImage -Path $qcow2 -DestinationPath (Join-Path $work 'bsd.raw') -Checksum $line -PassThru
        $gnu = Import-CdiImage -Path $qcow2 -DestinationPath (Join-Path $work 'gnu.raw') -Checksum "$sha  disk.qcow2" -PassThru
        $byMd5 = Import-CdiImage -Path $qcow2 -DestinationPath (Join-Path $work 'md5.raw') -Checksum $md5 -PassThru
        Import-CdiImage -Path $qcow2 -DestinationPath (Join-Path $work 'x.raw') -Checksum "$sha  other.qcow2" -ErrorVariable other -ErrorAction SilentlyContinue
        Import-CdiImage -Path $qcow2 -DestinationPath (Join-Path $work 'y.raw') -Checksum 'sha256:abc' -ErrorVariable invalid -ErrorAction SilentlyContinue
        Import-CdiImage -Path $qcow2 -DestinationPath (Join-Path $work 'z.raw') -Checksum ('0' * 64) -ErrorVariable mismatch -ErrorAction SilentlyContinue

        $bsd.VerifiedChecksum | Should -Be "sha256:$sha"
        $gnu.VerifiedChecksum | Should -Be "sha256:$sha"
        $byMd5.VerifiedChecksum | Should -Be "md5:$md5"
        $other[0].FullyQualifiedErrorId | Should -BeLike 'ChecksumForAnotherFile,*'
        $invalid[0].FullyQualifiedErrorId | Should -BeLike 'InvalidChecksum,*'
        "$($invalid[0])" | Should -Match '64 hexadecimal digits'
        "$($mismatch[0])" | Should -Match 'as it is stored'
        "$($mismatch[0])" | Should -Not -Match 'at offset'
        @(Get-ChildItem $work -Filter '[xyz].raw') | Should -HaveCount 0
    }

    It 'refuses one checksum for several images before converting any' {
        Copy-Item $qcow2 (Join-Path $work 'second.qcow2')
        $sha = (Get-FileHash $qcow2 -Algorithm SHA256).Hash
        $out = New-Item -ItemType Directory (Join-Path $work 'many')

        Get-ChildItem (Join-Path $work '*.qcow2') | Import-CdiImage -DestinationPath $out -Checksum $sha -ErrorVariable failure -ErrorAction SilentlyContinue

        $failure | Should -HaveCount 1
        $failure[0].FullyQualifiedErrorId | Should -BeLike 'ChecksumForManyImages,*'
        Get-ChildItem $out | Should -BeNullOrEmpty
    }

    It 'warns when the name says another format than the content, refuses an empty image, and reports a wildcard that matches nothing' {
        $page = Join-Path $work 'Fedora-Cloud.qcow2'
        Set-Content $page '<!DOCTYPE html><html><body>404 Not Found</body></html>'
        $empty = Join-Path $work 'empty.raw'
        New-Item -ItemType File $empty | Out-Null

        $null = Import-CdiImage -Path $page -DestinationPath (Join-Path $work 'page.raw') -WarningVariable warned -WarningAction SilentlyContinue
        $info = Get-CdiImageInfo $page -WarningVariable infoWarned -WarningAction SilentlyContinue
        Import-CdiImage -Path $empty -DestinationPath (Join-Path $work 'empty-out.raw') -ErrorVariable emptyFailed -ErrorAction SilentlyContinue
        Import-CdiImage -Path (Join-Path $work 'nothing-*.qcow2') -DestinationPath (Join-Path $work 'x.raw') -ErrorVariable noMatch -ErrorAction SilentlyContinue

        "$warned" | Should -Match "named like a qcow2, but it is a raw"
        "$infoWarned" | Should -Match "named like a qcow2"
        $info.Warnings | Should -HaveCount 1
        $emptyFailed[0].FullyQualifiedErrorId | Should -BeLike 'EmptyImage,*'
        Join-Path $work 'empty-out.raw' | Should -Not -Exist
        $noMatch[0].FullyQualifiedErrorId | Should -BeLike 'PathNotFound,*'
        "$($noMatch[0])" | Should -Match 'No file matches'
    }

    It 'reports a damaged image with its stable error id and goes on with the next file' {
        $broken = Join-Path $work 'broken.qcow2'
        $bytes = [IO.File]::ReadAllBytes($qcow2)
        $bytes[20] = 0; $bytes[21] = 0; $bytes[22] = 0; $bytes[23] = 30
        [IO.File]::WriteAllBytes($broken, $bytes)

        $results = Import-CdiImage -Path $broken, $qcow2 -DestinationPath $work -ErrorAction SilentlyContinue -ErrorVariable failed -PassThru

        $failed[0].FullyQualifiedErrorId | Should -Be 'Qcow2ClusterBitsOutOfRange,CdiTools.Commands.ImportCdiImageCommand'
        $failed[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $failed[0].Exception.Message | Should -Match 'cluster_bits 30'
        $results | Should -HaveCount 1
        Join-Path $work 'broken.raw' | Should -Not -Exist
    }

    It 'refuses a backing file by name with a NotImplemented category' {
        $overlay = Join-Path $work 'overlay.qcow2'
        & qemu-img create -q -f qcow2 -b $qcow2 -F qcow2 $overlay

        Import-CdiImage -Path $overlay -DestinationPath $work -ErrorVariable failed -ErrorAction SilentlyContinue

        $failed[0].FullyQualifiedErrorId | Should -Be 'Qcow2BackingFileNotSupported,CdiTools.Commands.ImportCdiImageCommand'
        $failed[0].CategoryInfo.Category | Should -Be 'NotImplemented'
        $failed[0].Exception.Message | Should -Match ([regex]::Escape($qcow2))
    }

    It 'writes PathNotFound for a path that matches nothing' {
        Import-CdiImage -Path (Join-Path $work 'missing.qcow2') -DestinationPath $work -ErrorVariable failed -ErrorAction SilentlyContinue

        $failed[0].FullyQualifiedErrorId | Should -Be 'PathNotFound,CdiTools.Commands.ImportCdiImageCommand'
    }

    It 'reports progress with bytes and a Completed record' {
        $records = [System.Collections.Generic.List[object]]::new()
        $ps = [powershell]::Create()
        $null = $ps.AddScript('param($Module, $Path, $Destination) Import-Module $Module; Import-CdiImage -Path $Path -DestinationPath $Destination').
            AddArgument($env:CDITOOLS_MODULE).AddArgument($qcow2).AddArgument((Join-Path $work 'p.raw'))
        $ps.Streams.Progress.add_DataAdded({ param($sender, $e) $records.Add($sender[$e.Index]) }.GetNewClosure())
        $null = $ps.Invoke()
        $ps.Dispose()

        $records.Count | Should -BeGreaterOrEqual 2
        $records[-1].RecordType | Should -Be 'Completed'
        ($records | Where-Object RecordType -EQ 'Processing')[0].StatusDescription | Should -Match 'MiB|KiB|B of 64 MiB'
    }

    It 'stops within seconds on Ctrl+C and leaves nothing behind' {
        # 1 GiB of data that is neither zero nor repeated, written fast: one random MiB, varied per MiB.
        $big = Join-Path $work 'big.raw'
        $block = [byte[]]::new(1MB)
        [Random]::new(7).NextBytes($block)
        $file = [IO.File]::Create($big)
        try { for ($i = 0; $i -lt 1024; $i++) { $block[0] = $i % 256; $block[1] = [math]::Floor($i / 256); $file.Write($block, 0, $block.Length) } } finally { $file.Dispose() }
        # One script, not a batch of statements: stopping a batch lets PowerShell start its next
        # statement on a closing runspace.
        $ps = [powershell]::Create()
        $null = $ps.AddScript('param($Module, $Path, $Destination) Import-Module $Module; Import-CdiImage -Path $Path -DestinationPath $Destination').
            AddArgument($env:CDITOOLS_MODULE).AddArgument($big).AddArgument((Join-Path $work 'copy.raw'))
        $async = $ps.BeginInvoke()
        $deadline = [DateTime]::UtcNow.AddSeconds(20)
        while (-not (Get-ChildItem $work -Force -Filter '*.partial') -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
        Get-ChildItem $work -Force -Filter '*.partial' | Should -Not -BeNullOrEmpty -Because 'the conversion must have started'

        $clock = [Diagnostics.Stopwatch]::StartNew()
        $ps.Stop()
        $clock.Stop()
        try { $null = $ps.EndInvoke($async) } catch { }
        $ps.Dispose()

        $clock.Elapsed.TotalSeconds | Should -BeLessThan 2
        (Get-ChildItem $work -Force).Name | Sort-Object | Should -Be @('big.raw', 'disk.qcow2')
    }
}

Describe 'Get-CdiImageInfo' {
    BeforeAll {
        $work = Join-Path $TestDrive 'info'
        New-Item -ItemType Directory $work | Out-Null
        $qcow2 = Join-Path $work 'disk.qcow2'
        New-TestQcow2 $qcow2 '1G'
    }

    It 'reports format, virtual size, cluster size and the PVC sizes CDI needs' {
        $info = Get-CdiImageInfo -Path $qcow2

        $info | Should -BeOfType ([CdiTools.CdiImageInfo])
        $info.Format | Should -Be 'qcow2'
        $info.VirtualSize | Should -Be 1GB
        $info.ClusterSize | Should -Be 65536
        $info.Version | Should -Be 3
        $info.FileSize | Should -Be (Get-Item $qcow2).Length
        $info.SizeMeasured | Should -BeFalse
        $info.FilesystemPvcSize | Should -Be ([long][math]::Ceiling(1GB * 1.06))
        $info.FilesystemPvcQuantity | Should -Be '1086Mi'
        $info.BlockPvcSize | Should -Be 1GB
        $info.BlockPvcQuantity | Should -Be '1Gi'
    }

    It 'reads the size from a compressed qcow2 header without decoding it all' {
        & xz -k -T1 -0 $qcow2

        $info = Get-CdiImageInfo -LiteralPath "$qcow2.xz"

        $info.VirtualSize | Should -Be 1GB
        $info.SizeMeasured | Should -BeFalse
        $info.FormatChain[0] | Should -Match '^xz \(liblzma'
    }

    It 'measures a compressed raw image by decoding it, and uses a given filesystem overhead' {
        $raw = Join-Path $work 'small.raw'
        & head -c 3000000 /dev/urandom > $raw
        & gzip -k $raw

        $info = Get-CdiImageInfo -Path "$raw.gz" -FilesystemOverhead 0.1

        $info.VirtualSize | Should -Be 3000320
        $info.SizeMeasured | Should -BeTrue
        $info.FilesystemPvcSize | Should -Be ([long][math]::Ceiling(3MB * 1.1))
    }

    It 'names a backing file instead of refusing the image, and says Import-CdiImage will refuse it' {
        $overlay = Join-Path $work 'overlay.qcow2'
        & qemu-img create -q -f qcow2 -b $qcow2 -F qcow2 $overlay

        $info = Get-CdiImageInfo -Path $overlay
        $list = $info | Format-List | Out-String -Width 300

        $info.BackingFile | Should -Be $qcow2
        $info.CanImport | Should -BeFalse
        $info.RefusalId | Should -Be 'Qcow2BackingFileNotSupported'
        $info.Refusal | Should -Match 'overlay on the backing file'
        $list | Should -Match 'Refusal\s+: Qcow2BackingFileNotSupported: The image is an overlay'
        { Import-CdiImage -Path $overlay -DestinationPath (Join-Path $work 'overlay.raw') -ErrorAction Stop } |
            Should -Throw -ErrorId 'Qcow2BackingFileNotSupported*'
        (Get-CdiImageInfo -Path $qcow2).CanImport | Should -BeTrue
        (Get-CdiImageInfo -Path $qcow2 | Format-List | Out-String) | Should -Not -Match 'Refusal'
    }

    It 'shows a table for several images and a readable list for one' {
        $table = Get-CdiImageInfo -Path $qcow2 | Out-String -Width 200
        $list = Get-CdiImageInfo -Path $qcow2 | Format-List | Out-String -Width 200

        $table | Should -Match 'disk\.qcow2\s+qcow2\s+1 GiB'
        $table | Should -Match '1086Mi\s+1Gi'
        $list | Should -Match 'PvcSizeFilesystem : 1086Mi \(1,138,166,334 bytes: rounded to 1 MiB, plus 6% filesystem overhead\)'
    }
}

Describe 'The demo sample image' {
    It 'converts byte-identically to qemu-img, with no scratch bytes' {
        $sample = Join-Path $PSScriptRoot '../../tools/sample/demo-disk.qcow2.xz'
        $work = Join-Path $TestDrive 'demo'
        New-Item -ItemType Directory $work | Out-Null
        & xz -dc $sample > (Join-Path $work 'demo.qcow2')

        $result = Import-CdiImage -Path $sample -DestinationPath $work -PassThru

        $result.Destination | Should -Be (Join-Path $work 'demo-disk.raw')
        (Get-FileHash $result.Destination -Algorithm SHA256).Hash | Should -Be (Get-QemuRawHash (Join-Path $work 'demo.qcow2'))
        $result.ScratchBytes | Should -Be 0
        $result.VirtualSize | Should -Be 2GB
    }
}

Describe 'Import-CdiImage with VMware, Hyper-V and VirtualBox images' {
    BeforeAll {
        $work = Join-Path $TestDrive 'formats'
        New-Item -ItemType Directory $work | Out-Null
        $qcow2 = Join-Path $work 'source.qcow2'
        New-TestQcow2 $qcow2
        $raw = Join-Path $work 'source.raw'
        & qemu-img convert -O raw $qcow2 $raw
        $expected = (Get-FileHash $raw -Algorithm SHA256).Hash
    }

    It 'converts a <Name> like qemu-img, gzipped too, with no scratch bytes' -ForEach @(
        @{ Name = 'stream-optimized vmdk'; Format = 'vmdk'; Options = 'subformat=streamOptimized'; Subformat = 'streamOptimized'; File = 'disk.vmdk' }
        @{ Name = 'dynamic vhd'; Format = 'vpc'; Options = 'subformat=dynamic,force_size=on'; Subformat = 'dynamic'; File = 'disk.vhd' }
        @{ Name = 'dynamic vhdx'; Format = 'vhdx'; Options = 'subformat=dynamic'; Subformat = 'dynamic'; File = 'disk.vhdx' }
        @{ Name = 'static vdi'; Format = 'vdi'; Options = 'static=on'; Subformat = 'static'; File = 'disk.vdi' }
    ) {
        $image = Join-Path $work $File
        & qemu-img convert -f raw -O $Format -o $Options $raw $image
        & gzip -k -1 $image

        $plain = Import-CdiImage -Path $image -DestinationPath (Join-Path $work "$File.raw") -PassThru -Force
        $wrapped = Import-CdiImage -Path "$image.gz" -DestinationPath (Join-Path $work "$File.gz.raw") -PassThru -Force
        $info = Get-CdiImageInfo -Path $image

        (Get-FileHash (Join-Path $work "$File.raw") -Algorithm SHA256).Hash | Should -Be $expected
        (Get-FileHash (Join-Path $work "$File.gz.raw") -Algorithm SHA256).Hash | Should -Be $expected
        $plain.FormatChain | Should -Be @($Format)
        $wrapped.FormatChain[-1] | Should -Be $Format
        $wrapped.ScratchBytes | Should -Be 0
        $info.Format | Should -Be $Format
        $info.Subformat | Should -Be $Subformat
        $info.VirtualSize | Should -Be 64MB
    }

    It 'leaves a fixed VHD''s footer out of the disk and says so, where qemu-img probing it as raw keeps it' {
        $vhd = Join-Path $work 'fixed.vhd'
        & qemu-img convert -f raw -O vpc -o subformat=fixed,force_size=on $raw $vhd

        $result = Import-CdiImage -Path $vhd -DestinationPath (Join-Path $work 'fixed.raw') -PassThru -Force -Verbose 4>&1
        $verbose = @($result | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })
        $output = $result | Where-Object { $_ -is [CdiTools.CdiImportResult] }

        (Get-FileHash (Join-Path $work 'fixed.raw') -Algorithm SHA256).Hash | Should -Be $expected
        (Get-Item (Join-Path $work 'fixed.raw')).Length | Should -Be ((Get-Item $vhd).Length - 512)
        $output.Notes | Should -Match 'footer'
        $verbose.Message -join "`n" | Should -Match 'footer'
    }

    It 'refuses a format CDI does not import (parallels) instead of copying its bytes as raw' {
        $parallels = Join-Path $work 'disk.parallels'
        & qemu-img convert -f raw -O parallels $raw $parallels

        Import-CdiImage -Path $parallels -DestinationPath (Join-Path $work 'foreign.raw') -ErrorVariable failure -ErrorAction SilentlyContinue

        $failure[0].FullyQualifiedErrorId | Should -BeLike 'UnsupportedImageFormat*'
        $failure[0].Exception.Message | Should -Match 'parallels, a format CDI does not import'
        Join-Path $work 'foreign.raw' | Should -Not -Exist
    }
}

Describe 'Import-CdiImage results in a CSV file' {
    It 'exports the layers and seconds as plain values, not System.String[] or a TimeSpan' {
        $image = Join-Path $TestDrive 'csv.qcow2'
        & qemu-img create -q -f qcow2 $image 8M
        $csv = Join-Path $TestDrive 'results.csv'

        Import-CdiImage -Path $image -DestinationPath (Join-Path $TestDrive 'csv.raw') -PassThru | Select-Object Destination, Layers, Seconds, VirtualSize | Export-Csv $csv
        $row = Import-Csv $csv

        $row.Layers | Should -Be 'qcow2'
        [double] $row.Seconds | Should -BeGreaterThan 0
        $row.VirtualSize | Should -Be 8MB
    }

    It 'exports lists (warnings, notes, features) as their text, and keeps them lists in the pipeline' {
        $page = Join-Path $TestDrive 'Page.vmdk'
        Set-Content $page '<!DOCTYPE html><html><body>404 Not Found</body></html>'
        $image = Join-Path $TestDrive 'features.qcow2'
        & qemu-img create -q -f qcow2 -o lazy_refcounts=on $image 8M
        $csv = Join-Path $TestDrive 'info.csv'

        $infos = @(Get-CdiImageInfo $page, $image -WarningAction SilentlyContinue)
        $infos | Select-Object Warnings, Features | Export-Csv $csv
        $rows = @(Import-Csv $csv)

        $infos[0].Warnings | Should -HaveCount 1
        $infos[0].Warnings[0] | Should -Match 'named like a vmdk'
        $rows[0].Warnings | Should -Be $infos[0].Warnings[0]
        $rows[1].Features | Should -Be ($infos[1].Features -join ', ')
        $rows[1].Features | Should -Match 'lazy'
        "$($rows.Warnings) $($rows.Features)" | Should -Not -Match 'System\.'
    }
}
