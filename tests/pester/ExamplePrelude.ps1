# What a reader brings to the documented examples, for the run in DocumentedExamples.psm1:
# an answer to Get-Credential's prompt, a $cred, and kubectl. kubectl is no Debian package, so a
# small stand-in answers the calls the examples make ("get KIND [NAME] [-n NS] -o json" and
# "-o jsonpath={.a.b}") from the same API server the module talks to.

$script:ExampleCredential = [pscredential]::new('reader', (ConvertTo-SecureString 'example-password' -AsPlainText -Force))
$cred = $ExampleCredential

function Get-Credential { $ExampleCredential }

function kubectl {
    $resources = @{
        cdi = '/apis/cdi.kubevirt.io/v1beta1/cdis'
        dv  = '/apis/cdi.kubevirt.io/v1beta1/namespaces/{0}/datavolumes'
        sc  = '/apis/storage.k8s.io/v1/storageclasses'
        pvc = '/api/v1/namespaces/{0}/persistentvolumeclaims'
    }
    if ($args[0] -ne 'get') { throw "The kubectl stand-in answers only 'get', not: kubectl $args" }
    $kind, $name, $namespace, $output = $args[1], $null, $env:CDITOOLS_EXAMPLE_NAMESPACE, 'yaml'
    for ($i = 2; $i -lt $args.Count; $i++) {
        switch -Regex ($args[$i]) {
            '^(-n|--namespace)$' { $namespace = $args[++$i]; break }
            '^-o$' { $output = $args[++$i]; break }
            '^-o(.+)$' { $output = $Matches[1].TrimStart('='); break }
            '^-' { throw "The kubectl stand-in does not know $_" }
            default { $name = $_ }
        }
    }
    if (-not $resources.ContainsKey($kind)) { throw "The kubectl stand-in does not know the kind $kind" }
    $path = $resources[$kind] -f $namespace
    if ($name) { $path += "/$name" }
    $response = Invoke-WebRequest -Uri "$env:CDITOOLS_EXAMPLE_API$path" -Headers @{ Authorization = "Bearer $env:CDITOOLS_EXAMPLE_TOKEN" } -SkipCertificateCheck
    if ($output -eq 'json') { return $response.Content }
    if ($output -match '^jsonpath=\{\.(.+)\}$') {
        $value = $response.Content | ConvertFrom-Json
        foreach ($step in $Matches[1] -split '\.') { $value = $value.$step }
        return "$value"
    }
    throw "The kubectl stand-in writes only -o json and -o jsonpath={.a.b}, not $output"
}
