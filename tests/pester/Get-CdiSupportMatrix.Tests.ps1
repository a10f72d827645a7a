BeforeAll {
    Import-Module $env:CDITOOLS_MODULE -Force
}

Describe 'Get-CdiSupportMatrix: the documented matrix' {
    It '<Format> is <Http> / <Https> / <Auth> / <Registry> / <Upload>' -ForEach @(
        @{ Format = 'Qcow2'; Http = 'S'; Https = 'S**'; Auth = 'S'; Registry = 'S*'; Upload = 'S*' }
        @{ Format = 'Qcow2Gz'; Http = 'S*'; Https = 'S*'; Auth = 'S*'; Registry = '-'; Upload = 'S*' }
        @{ Format = 'Qcow2Xz'; Http = 'S*'; Https = 'S*'; Auth = 'S*'; Registry = '-'; Upload = 'S*' }
        @{ Format = 'Raw'; Http = 'S'; Https = 'S'; Auth = 'S'; Registry = 'S*'; Upload = 'S*' }
        @{ Format = 'RawGz'; Http = 'S'; Https = 'S'; Auth = 'S'; Registry = '-'; Upload = 'S*' }
        @{ Format = 'RawXz'; Http = 'S'; Https = 'S'; Auth = 'S'; Registry = '-'; Upload = 'S*' }
        @{ Format = 'Tar'; Http = 'S'; Https = 'S'; Auth = 'S'; Registry = '-'; Upload = '-' }
    ) {
        $entries = Get-CdiSupportMatrix -Format $Format
        $marks = @{}
        foreach ($e in $entries) { $marks[[string] $e.Endpoint] = $e.Mark }

        $entries | Should -HaveCount 5
        $marks.Http | Should -BeExactly $Http
        $marks.Https | Should -BeExactly $Https
        $marks.HttpBasicAuth | Should -BeExactly $Auth
        $marks.Registry | Should -BeExactly $Registry
        $marks.Upload | Should -BeExactly $Upload
        foreach ($e in $entries) {
            $e.Supported | Should -Be ($e.Mark -ne '-')
            $e.RequiresScratch | Should -Be ($e.Mark -in 'S*', 'S**')
        }
    }

    It 'writes CdiSupportEntry objects that PowerShell can name' {
        $entry = Get-CdiSupportMatrix -Format Raw -Endpoint Http

        $entry | Should -BeOfType ([CdiTools.CdiSupportEntry])
        $entry.ContentType | Should -Be 'Kubevirt'
        $entry.CdiVersion | Should -BeNullOrEmpty
        $entry.Matrix | Should -Be 'CDI documentation'
    }

    It 'names the custom certificate authority as the condition of S**' {
        $entry = Get-CdiSupportMatrix -Format Qcow2 -Endpoint Https

        $entry.Condition | Should -Match 'custom certificate authority'
        $entry.Reason | Should -Match 'certificate authority'
        $entry.ScratchStorageClass | Should -Match 'scratchSpaceStorageClass'
        $entry.ScratchStorageClass | Should -Match 'Filesystem'
    }

    It 'carries the footnote that archive content cannot go into a Block DataVolume' {
        $archive = Get-CdiSupportMatrix -ContentType Archive

        $archive | Should -HaveCount 5
        $archive | ForEach-Object { $_.Note | Should -Match 'Block-mode DataVolume' }
        Get-CdiSupportMatrix -ContentType Kubevirt | Where-Object Note -Match 'Block-mode' | Should -BeNullOrEmpty
    }

    It 'shows where the documentation contradicts itself about basic auth' {
        $entry = Get-CdiSupportMatrix -Format Qcow2 -Endpoint HttpBasicAuth

        $entry.RequiresScratch | Should -BeFalse
        $entry.Note | Should -Match 'contradicts itself'
        $entry.Note | Should -Match 'authentication'
    }

    It 'gives the documented reason for each kind of scratch use' -ForEach @(
        @{ Format = 'Qcow2'; Endpoint = 'Registry'; Pattern = 'layers' }
        @{ Format = 'Raw'; Endpoint = 'Upload'; Pattern = 'standard input' }
        @{ Format = 'Qcow2Gz'; Endpoint = 'Http'; Pattern = 'compressed' }
    ) {
        (Get-CdiSupportMatrix -Format $Format -Endpoint $Endpoint).Reason | Should -Match $Pattern
    }
}

Describe 'Get-CdiSupportMatrix: filters' {
    It 'filters by format, content type and endpoint together' {
        $entries = Get-CdiSupportMatrix -Format Qcow2, Raw -ContentType Kubevirt -Endpoint Upload, Registry

        $entries | Should -HaveCount 4
        ($entries.Endpoint | Sort-Object -Unique) -join ',' | Should -Be 'Registry,Upload'
    }

    It '-RequiresScratch keeps the 15 scratch entries and :$false the other 20' {
        $scratch = Get-CdiSupportMatrix -RequiresScratch
        $none = Get-CdiSupportMatrix -RequiresScratch:$false

        $scratch | Should -HaveCount 15
        $none | Should -HaveCount 20
        $scratch | Where-Object { -not $_.RequiresScratch } | Should -BeNullOrEmpty
        $none | Where-Object RequiresScratch | Should -BeNullOrEmpty
    }

    It 'takes formats from the pipeline' {
        $entries = 'Qcow2Xz', 'RawXz' | Get-CdiSupportMatrix -Endpoint Upload

        $entries.Format -join ',' | Should -Be 'Qcow2Xz,RawXz'
        $entries | ForEach-Object { $_.Mark | Should -Be 'S*' }
    }

    It 'refuses a format it does not know, naming the valid ones' {
        $err = { Get-CdiSupportMatrix -Format Iso -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError,CdiTools.Commands.GetCdiSupportMatrixCommand' -PassThru

        $err.Exception.Message | Should -Match 'Qcow2Gz'
        $err.Exception.Message | Should -Match 'Vhdx'
    }
}

Describe 'Get-CdiSupportMatrix -AsGrid' {
    It 'has one row per content type and format and one column per endpoint' {
        $grid = Get-CdiSupportMatrix -AsGrid

        $grid | Should -HaveCount 7
        $grid[0] | Should -BeOfType ([CdiTools.CdiSupportGridRow])
        ($grid | ForEach-Object { "$($_.Format):$($_.Http),$($_.Https),$($_.HttpBasicAuth),$($_.Registry),$($_.Upload)" }) -join ' ' |
            Should -BeExactly 'Qcow2:S,S**,S,S*,S* Qcow2Gz:S*,S*,S*,-,S* Qcow2Xz:S*,S*,S*,-,S* Raw:S,S,S,S*,S* RawGz:S,S,S,-,S* RawXz:S,S,S,-,S* Tar:S,S,S,-,-'
        ($grid | Where-Object Format -EQ Tar).ContentType | Should -Be 'Archive'
    }

    It 'prints a heading with the source and the legend above the grid' {
        $text = Get-CdiSupportMatrix -AsGrid | Out-String -Width 200

        $text | Should -Match 'Matrix: CDI documentation'
        $text | Should -Match 'S\*\*\s+supported, needs scratch space only under'
        $text | Should -Match 'HTTPS\s+Basic auth\s+Registry'
        $text | Should -Match 'Archive\s+Tar\s+S\s+S\s+S\s+-\s+-\s+Archive content cannot'
    }

    It 'shows the documented mark beside a release mark that differs' {
        $grid = Get-CdiSupportMatrix -AsGrid -CdiVersion v1.66.0 -Format Raw
        $text = $grid | Out-String -Width 200

        $grid.Http | Should -BeExactly 'S* (doc S)'
        $grid.Registry | Should -BeExactly 'S** (doc S*)'
        $text | Should -Match 'Matrix: CDI v1.66.0'
        $text | Should -Match 'differs from the documentation'
    }

    It 'leaves the columns of filtered-out endpoints empty' {
        $row = Get-CdiSupportMatrix -AsGrid -Format Tar -Endpoint Upload

        $row.Upload | Should -Be '-'
        $row.Http | Should -BeNullOrEmpty
    }
}

Describe 'Get-CdiSupportMatrix -CdiVersion' {
    It 'answers raw.gz over HTTP as <Mark> in <Release>' -ForEach @(
        @{ Release = 'v1.56.0'; Mark = 'S' }
        @{ Release = 'v1.57.0'; Mark = 'S' }
        @{ Release = 'v1.57.1'; Mark = 'S*' }
        @{ Release = '1.58.3'; Mark = 'S' }
        @{ Release = '1.58.4'; Mark = 'S*' }
        @{ Release = 'v1.60.0'; Mark = 'S*' }
    ) {
        (Get-CdiSupportMatrix -Format RawGz -Endpoint Http -CdiVersion $Release).Mark | Should -BeExactly $Mark
    }

    It 'cites the pull request where a release departs from the documentation' {
        $entry = Get-CdiSupportMatrix -Format Qcow2 -Endpoint Http -CdiVersion v1.58.0

        $entry.Mark | Should -Be 'S*'
        $entry.DocumentedMark | Should -Be 'S'
        $entry.DiffersFromDocumentation | Should -BeTrue
        $entry.Note | Should -Match 'pull request 2832 \(first in v1\.57\.0\)'
        $entry.CdiVersion | Should -Be 'v1.58.0'
    }

    It 'explains the scratch class fallback before and after v1.65.0' {
        (Get-CdiSupportMatrix -Format Qcow2 -Endpoint Upload -CdiVersion v1.64.0).ScratchStorageClass | Should -Match "cluster's default StorageClass, else"
        (Get-CdiSupportMatrix -Format Qcow2 -Endpoint Upload -CdiVersion v1.65.0).ScratchStorageClass | Should -Match 'no longer used'
    }

    It 'lists the changes a release contains in Verbose' {
        $verbose = Get-CdiSupportMatrix -Format Raw -CdiVersion v1.59.1 -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }

        ($verbose.Message -join "`n") | Should -Match 'pull request 3219'
        ($verbose.Message -join "`n") | Should -Not -Match 'pull request 4054'
    }

    It 'refuses an unreadable release with InvalidCdiVersion' {
        { Get-CdiSupportMatrix -CdiVersion 'latest' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidCdiVersion,CdiTools.Commands.GetCdiSupportMatrixCommand'
    }

    It 'refuses a release older than the model with CdiVersionNotModeled' {
        $err = { Get-CdiSupportMatrix -CdiVersion v1.40.0 -ErrorAction Stop } | Should -Throw -ErrorId 'CdiVersionNotModeled,CdiTools.Commands.GetCdiSupportMatrixCommand' -PassThru

        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err.Exception.Message | Should -Match 'v1\.52\.0'
    }

    It 'warns for a release newer than it knows and answers as the newest known' {
        $entries = Get-CdiSupportMatrix -CdiVersion v1.99.0 -WarningVariable warnings -WarningAction SilentlyContinue
        $newest = Get-CdiSupportMatrix -CdiVersion v1.66.0

        $warnings | Should -HaveCount 1
        $warnings[0] | Should -Match 'newer than v1\.66\.0'
        ($entries.Mark -join ',') | Should -BeExactly ($newest.Mark -join ',')
    }

    It 'completes release numbers with the releases where behaviour changed' {
        $completions = TabExpansion2 -inputScript 'Get-CdiSupportMatrix -CdiVersion v1.5' -cursorColumn 37

        $completions.CompletionMatches.CompletionText | Should -Contain 'v1.57.0'
        $completions.CompletionMatches.CompletionText | Should -Contain 'v1.52.0'
        $completions.CompletionMatches.CompletionText | Should -Not -Contain 'v1.65.0'
    }
}

Describe 'Get-CdiSupportMatrix -Engine: what Import-CdiImage does on the client' {
    It 'converts a compressed qcow2 from HTTP in one forward pass, where CDI needs scratch space' {
        $entry = Get-CdiSupportMatrix -Engine -Format Qcow2Xz -Endpoint Http

        $entry | Should -BeOfType ([CdiTools.CdiEngineSupportEntry])
        $entry.Format | Should -BeExactly 'qcow2.xz'
        $entry.ClientSide | Should -BeTrue
        $entry.Access | Should -BeExactly 'Stream'
        $entry.ScratchBytes | Should -Be 0
        $entry.CdiMark | Should -BeExactly 'S*'
        $entry.ClusterScratchPvc | Should -BeTrue
        $entry.Command | Should -BeLike 'Import-CdiImage -Uri http://*'
    }

    It 'lists every CDI row and vmdk, vhd, vhdx and vdi for each endpoint, CDI marks following -CdiVersion' {
        $documented = Get-CdiSupportMatrix -Engine
        $release = Get-CdiSupportMatrix -Engine -CdiVersion v1.56.0

        $documented | Should -HaveCount 55
        ($documented.Format | Select-Object -Unique) -join ',' | Should -BeExactly 'qcow2,qcow2.gz,qcow2.xz,raw,raw.gz,raw.xz,vmdk,vhd,vhdx,vdi,tar'
        ($release | Where-Object { $_.Format -eq 'qcow2' -and $_.Endpoint -eq 'Http' }).CdiMark | Should -BeExactly 'S**'
        ($release | Select-Object -First 1).Matrix | Should -BeExactly 'CDI v1.56.0'
    }

    It 'converts every disk format CDI imports on the client, from every endpoint, registries included' {
        $disks = Get-CdiSupportMatrix -Engine -ContentType Kubevirt

        $disks | Should -HaveCount 50
        $disks | ForEach-Object { $_.ClientSide | Should -BeTrue; $_.ScratchBytes | Should -Be 0 }
        ($disks | Where-Object { $_.Format -eq 'vhdx' -and $_.Endpoint -eq 'Registry' }).Access | Should -BeExactly 'Stream'
        ($disks | Where-Object { $_.Format -eq 'raw.gz' -and $_.Endpoint -eq 'Registry' }).CdiMark | Should -BeExactly '-'
    }

    It 'leaves archives to CDI' {
        $tar = Get-CdiSupportMatrix -Engine -ContentType Archive

        $tar | Should -HaveCount 5
        $tar | ForEach-Object { $_.ClientSide | Should -BeFalse; $_.ScratchBytes | Should -BeNullOrEmpty }
    }

    It 'shows a table with the scratch bytes beside CDI''s mark' {
        $text = Get-CdiSupportMatrix -Engine -Format Raw -Endpoint Upload | Out-String

        $text | Should -Match 'ScratchBytes'
        $text | Should -Match 'CdiMark'
        $text | Should -Match 'raw\s+Upload\s+True\s+Random\s+0\s+S\*'
    }
}

Describe 'Get-CdiSupportMatrix -Format for the formats CDI''s table leaves out' {
    BeforeAll { Import-Module $env:CDITOOLS_MODULE -Force }

    It 'answers -Engine for vmdk, vhd, vhdx and vdi, and says CDI''s table has no row for them' {
        $engine = Get-CdiSupportMatrix -Engine -Format Vmdk, Vhdx -Endpoint Upload
        $plain = Get-CdiSupportMatrix -Format vmdk -WarningVariable warned -WarningAction SilentlyContinue

        $engine.Format | Sort-Object | Should -Be @('vhdx', 'vmdk')
        $engine.ClientSide | Should -Be @($true, $true)
        $plain | Should -BeNullOrEmpty
        "$warned" | Should -Match 'no row for vmdk'
        "$warned" | Should -Match '-Engine'
    }
}
