# What a finished conversion promises, checked in the system calls a child pwsh makes (strace):
# the disk's data is on stable storage before it takes its name, the name after, and the files
# an image names but may not make us read are never opened.
BeforeAll {
    Import-Module $env:CDITOOLS_MODULE -Force
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force

    function New-Work {
        # strace shows the paths of file descriptors resolved, so the folder is named by its real path.
        $folder = New-Item -ItemType Directory (Join-Path $TestDrive ([guid]::NewGuid()))
        (& realpath $folder.FullName)
    }

    function Get-TraceLines([string] $Log) {
        # "PID call(args) = result", or "PID call(args <unfinished ...>" when another thread interleaved.
        @(Get-Content -LiteralPath $Log | ForEach-Object {
                if ($_ -match '^(?<tid>\d+)\s+(?<call>\w+)\((?<args>.*)$') {
                    [pscustomobject]@{ Tid = $Matches.tid; Call = $Matches.call; Args = $Matches.args }
                }
            })
    }
}

Describe 'A finished Import-CdiImage is on stable storage' {
    It 'flushes the disk under its temporary name, renames it, then flushes the folder, on one thread in that order' {
        $work = New-Work
        $image = Join-Path $work 'disk.qcow2'
        & qemu-img create -q -f qcow2 $image 16M
        & qemu-io -f qcow2 -c 'write -P 0x61 0 3M' $image | Out-Null
        $destination = Join-Path $work 'disk.raw'
        $log = Join-Path $work 'trace.log'

        $run = Invoke-FreshPwsh -TraceCalls fsync, fdatasync, rename, renameat, renameat2 -TraceLog $log -Script @"
Import-Module '$env:CDITOOLS_MODULE'
`$r = Import-CdiImage -LiteralPath '$image' -DestinationPath '$destination' -PassThru
[pscustomobject]@{ Flush = `$r.FlushDuration.TotalSeconds; Total = `$r.Duration.TotalSeconds } | ConvertTo-Json -Compress
"@

        $run.ExitCode | Should -Be 0 -Because $run.Output
        $result = Get-JsonResult $run
        $result.Flush | Should -BeGreaterThan 0
        $result.Flush | Should -BeLessOrEqual $result.Total
        $calls = Get-TraceLines $log
        $partial = '/\.disk\.raw\.[0-9a-f]{32}\.partial'
        $dataFlush = @($calls | Where-Object { $_.Call -in 'fsync', 'fdatasync' -and $_.Args -match "^\d+<$([regex]::Escape($work))$partial>" })
        $rename = @($calls | Where-Object { $_.Call -like 'rename*' -and $_.Args -match "$partial`".*`"$([regex]::Escape($destination))`"" })
        $folderFlush = @($calls | Where-Object { $_.Call -in 'fsync', 'fdatasync' -and $_.Args -match "^\d+<$([regex]::Escape($work))>" })
        $dataFlush | Should -HaveCount 1 -Because ($calls | Out-String)
        $rename | Should -HaveCount 1
        $folderFlush | Should -HaveCount 1
        $order = @($calls.IndexOf($dataFlush[0]), $calls.IndexOf($rename[0]), $calls.IndexOf($folderFlush[0]))
        $order | Should -Be ($order | Sort-Object)
        @($dataFlush[0].Tid, $rename[0].Tid, $folderFlush[0].Tid) | Select-Object -Unique | Should -HaveCount 1
        (Get-FileHash $destination -Algorithm SHA256).Hash | Should -Be (& { & qemu-img convert -O raw $image "$destination.qemu"; (Get-FileHash "$destination.qemu" -Algorithm SHA256).Hash })
    }
}

Describe 'Files an image names but may not make us read' {
    It 'are never opened by Get-CdiImageInfo or Import-CdiImage: <Case>' -ForEach @(
        @{ Case = 'a qcow2 backing file'; Image = 'child.qcow2'; Named = 'base.raw'; ErrorId = 'Qcow2BackingFileNotSupported' }
        @{ Case = 'a VMDK parent'; Image = 'child.vmdk'; Named = 'parent.vmdk'; ErrorId = 'VmdkParentNotSupported' }
        @{ Case = 'a VMDK extent outside the folder'; Image = 'disk.vmdk'; Named = 'secret.raw'; ErrorId = 'VmdkExtentOutsideFolder' }
        @{ Case = 'a VMDK extent behind a link that leads out'; Image = 'linked.vmdk'; Named = 'secret.raw'; ErrorId = 'VmdkExtentOutsideFolder' }
    ) {
        $work = New-Work
        $images = New-Item -ItemType Directory (Join-Path $work 'images')
        $outside = New-Item -ItemType Directory (Join-Path $work 'outside')
        $secret = Join-Path $outside 'secret.raw'
        [IO.File]::WriteAllBytes($secret, [byte[]]::new(1MB))
        Push-Location $images
        try {
            & qemu-img create -q -f raw base.raw 1M
            & qemu-img create -q -f qcow2 -b base.raw -F raw child.qcow2 1M
            & qemu-img create -q -f vmdk parent.vmdk 1M
            & qemu-img create -q -f vmdk -b parent.vmdk -F vmdk child.vmdk
            $descriptor = "# Disk DescriptorFile`nversion=1`nCID=fffffffe`nparentCID=ffffffff`ncreateType=`"monolithicFlat`"`nRW 2048 FLAT `"{0}`" 0`n"
            Set-Content -LiteralPath disk.vmdk -Value ($descriptor -f '../outside/secret.raw') -NoNewline
            New-Item -ItemType SymbolicLink -Path flat.vmdk -Target $secret | Out-Null
            Set-Content -LiteralPath linked.vmdk -Value ($descriptor -f 'flat.vmdk') -NoNewline
        }
        finally { Pop-Location }
        $namedPath = (Get-ChildItem -Recurse -LiteralPath $work -Filter $Named | Select-Object -First 1).FullName
        $log = Join-Path $work 'trace.log'
        $out = New-Item -ItemType Directory (Join-Path $work 'out')

        $run = Invoke-FreshPwsh -TraceCalls open, openat, openat2 -TraceLog $log -Script @"
Import-Module '$env:CDITOOLS_MODULE'
`$info = Get-CdiImageInfo -LiteralPath '$(Join-Path $images $Image)' -ErrorAction SilentlyContinue -ErrorVariable infoError
Import-CdiImage -LiteralPath '$(Join-Path $images $Image)' -DestinationPath '$out' -ErrorAction SilentlyContinue -ErrorVariable importError
[pscustomobject]@{ Backing = `$info.BackingFile; InfoError = "`$(`$infoError.FullyQualifiedErrorId)"; ImportError = "`$(`$importError.FullyQualifiedErrorId)" } | ConvertTo-Json -Compress
"@

        $result = Get-JsonResult $run
        $result.ImportError | Should -BeLike "$ErrorId,*"
        if ($result.InfoError) { $result.InfoError | Should -BeLike "$ErrorId,*" }
        else { $result.Backing | Should -Be $Named }
        Get-ChildItem -LiteralPath $out | Should -BeNullOrEmpty
        $opened = @(Get-TraceLines $log | Where-Object Call -Like 'open*')
        $opened | Where-Object Args -Match ([regex]::Escape("$Image")) | Should -Not -BeNullOrEmpty -Because 'the trace must see the image itself being opened'
        $namedPath | Should -Not -BeNullOrEmpty
        $opened | Where-Object { $_.Args.Contains($Named) } | Should -BeNullOrEmpty
    }
}
