@{
    RootModule             = 'CdiTools.dll'
    ModuleVersion          = '0.1.0'
    CompatiblePSEditions   = @('Core')
    GUID                   = '5b0f3f0e-8f4c-4d52-9a53-2f6c1a7e9c41'
    Author                 = 'CdiTools contributors'
    CompanyName            = 'CdiTools'
    Copyright              = '(c) CdiTools contributors.'
    Description            = 'Get VM disk images into KubeVirt: drive the Containerized Data Importer (CDI) from PowerShell and convert qcow2, raw, vmdk, vhd(x) and vdi images in one streaming pass.'
    PowerShellVersion      = '7.6'
    FormatsToProcess       = @('CdiTools.Format.ps1xml')
    TypesToProcess         = @('CdiTools.Types.ps1xml')
    CmdletsToExport        = @('Get-CdiDataVolume', 'Get-CdiImageInfo', 'Get-CdiScratchStorageClass', 'Get-CdiScratchVolume', 'Get-CdiSupportMatrix', 'Import-CdiImage', 'New-CdiDataVolume', 'Remove-CdiDataVolume', 'Remove-CdiScratchVolume', 'Set-CdiScratchStorageClass', 'Test-CdiScratchSpace', 'Wait-CdiDataVolume')
    FunctionsToExport      = @()
    VariablesToExport      = @()
    AliasesToExport        = @()
    PrivateData            = @{
        PSData = @{
            Tags         = @('KubeVirt', 'CDI', 'Kubernetes', 'qcow2', 'DataVolume', 'Linux', 'Windows', 'PSEdition_Core')
            ReleaseNotes = 'Get-CdiSupportMatrix: CDI''s scratch-space matrix as objects, documented and per release.'
        }
    }
}
