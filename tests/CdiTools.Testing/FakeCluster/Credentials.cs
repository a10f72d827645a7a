using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.KubeConfigModels;

namespace CdiTools.Testing.FakeCluster;

/// <summary>
/// Client credentials the fake API server accepts: client certificates issued by its CA (the CN
/// names the user, the O entries its groups, as the API server's x509 authenticator reads them)
/// and kubeconfig files for every <see cref="KubeconfigAuth"/>.
/// </summary>
internal static class Credentials
{
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    public static X509Certificate2 IssueClientCertificate(X509Certificate2 authority, string user, params string[] groups)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new StringBuilder("CN=").Append(user);
        foreach (var group in groups)
        {
            subject.Append(", O=").Append(group);
        }

        var request = new CertificateRequest(new X500DistinguishedName(subject.ToString()), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ClientAuthentication], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, true, false));
        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F;
        var now = DateTimeOffset.UtcNow;
        using var issued = request.Create(authority, now.AddDays(-1), now.AddDays(30), serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>The user a presented client certificate names, or null when the test CA did not issue it for client use.</summary>
    public static string? UserFromCertificate(X509Certificate2 certificate, X509Certificate2 authority)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(ClientAuthentication);
        if (!chain.Build(certificate))
        {
            return null;
        }

        var name = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        return string.IsNullOrEmpty(name) ? null : name;
    }

    public static string WriteKubeconfig(
        string path,
        Uri server,
        X509Certificate2 authority,
        string contextName,
        string? defaultNamespace,
        KubeconfigAuth auth,
        string token,
        Func<X509Certificate2> issueClientCertificate,
        string execToken)
    {
        path = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(folder);
        var credentials = new UserCredentials();
        switch (auth)
        {
            case KubeconfigAuth.Token:
                credentials.Token = token;
                break;
            case KubeconfigAuth.ClientCertificate:
                using (var certificate = issueClientCertificate())
                using (var key = certificate.GetECDsaPrivateKey()!)
                {
                    credentials.ClientCertificateData = Base64(certificate.ExportCertificatePem());
                    credentials.ClientKeyData = Base64(key.ExportPkcs8PrivateKeyPem());
                }

                break;
            case KubeconfigAuth.Exec:
                credentials.ExternalExecution = new ExternalExecution
                {
                    ApiVersion = "client.authentication.k8s.io/v1",
                    Command = WriteExecPlugin(folder, contextName, execToken),
                    Arguments = [],
                };
                break;
        }

        var config = new K8SConfiguration
        {
            ApiVersion = "v1",
            Kind = "Config",
            CurrentContext = contextName,
            Clusters =
            [
                new Cluster
                {
                    Name = contextName,
                    ClusterEndpoint = new ClusterEndpoint
                    {
                        Server = server.GetLeftPart(UriPartial.Authority),
                        CertificateAuthorityData = Base64(authority.ExportCertificatePem()),
                    },
                },
            ],
            Users = [new User { Name = contextName, UserCredentials = credentials }],
            Contexts =
            [
                new Context
                {
                    Name = contextName,
                    ContextDetails = new ContextDetails { Cluster = contextName, User = contextName, Namespace = defaultNamespace },
                },
            ],
        };
        File.WriteAllText(path, KubernetesYaml.Serialize(config));
        return path;
    }

    private static string Base64(string pem) => Convert.ToBase64String(Encoding.ASCII.GetBytes(pem));

    /// <summary>
    /// A POSIX shell script that prints an ExecCredential, as credential plugins such as cloud
    /// CLIs do; the token is its own so tests can tell it was the plugin that authenticated.
    /// </summary>
    private static string WriteExecPlugin(string folder, string contextName, string execToken)
    {
        var credential = new JsonObject
        {
            ["apiVersion"] = "client.authentication.k8s.io/v1",
            ["kind"] = "ExecCredential",
            ["status"] = new JsonObject { ["token"] = execToken },
        };
        var script = Path.Combine(folder, $"{contextName}-credential-plugin.sh");
        File.WriteAllText(script, $"#!/bin/sh\ncat <<'CREDENTIAL'\n{credential.ToJsonString()}\nCREDENTIAL\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return script;
    }
}
