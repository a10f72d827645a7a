using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using CdiTools.Testing.Http;
using CdiTools.Testing.Images;

namespace CdiTools.Testing.Registry;

/// <summary>What a <see cref="TestRegistry"/> is started with.</summary>
public sealed record TestRegistryOptions
{
    /// <summary>Serve HTTPS with a certificate from this authority; plain HTTP when null.</summary>
    public TestCertificateAuthority? Authority { get; init; }

    /// <summary>Require basic auth (htpasswd, bcrypt) with this user and <see cref="Password"/>.</summary>
    public string? UserName { get; init; }

    public string? Password { get; init; }

    /// <summary>Require bearer tokens from this token service (realm URL), whose signing chain is <see cref="TokenRootCertificateFile"/>.</summary>
    public Uri? TokenRealm { get; init; }

    public string? TokenService { get; init; }

    public string? TokenIssuer { get; init; }

    public string? TokenRootCertificateFile { get; init; }

    /// <summary>user:password that skopeo pushes with, when not <see cref="UserName"/>'s (a token service's user).</summary>
    public string? PushCredentials { get; init; }
}

/// <summary>
/// A real container registry (the distribution project's registry, Debian's docker-registry) on
/// 127.0.0.1 and a free port, storing in a temporary folder, with images pushed by skopeo from
/// OCI layouts the tests build.
/// </summary>
public sealed class TestRegistry : IDisposable
{
    private readonly Process process;
    private readonly TemporaryDirectory folder;
    private readonly TestRegistryOptions options;
    private readonly string? certificateDirectory;

    private TestRegistry(Process process, TemporaryDirectory folder, TestRegistryOptions options, int port, string? certificateDirectory)
    {
        this.process = process;
        this.folder = folder;
        this.options = options;
        this.certificateDirectory = certificateDirectory;
        Port = port;
    }

    public int Port { get; }

    /// <summary>host:port, as a docker reference names the registry.</summary>
    public string Host => $"127.0.0.1:{Port}";

    public string StorageDirectory => folder.File("storage");

    /// <summary>The CA bundle that trusts this registry's certificate, for HTTPS registries.</summary>
    public string? CaFile => certificateDirectory is null ? null : Path.Combine(certificateDirectory, "ca.crt");

    public static TestRegistry Start(TestRegistryOptions? options = null)
    {
        options ??= new TestRegistryOptions();
        var folder = new TemporaryDirectory();
        try
        {
            var port = FreePort();
            var config = new List<string>
            {
                "version: 0.1",
                "log:",
                "  level: error",
                "  accesslog:",
                "    disabled: true",
                "storage:",
                "  filesystem:",
                $"    rootdirectory: {folder.File("storage")}",
                "  maintenance:",
                "    uploadpurging:",
                "      enabled: false",
                "http:",
                $"  addr: 127.0.0.1:{port}",
                "  secret: test-secret",
            };
            string? certificates = null;
            if (options.Authority is { } authority)
            {
                // The client's folder holds the CA alone: skopeo takes any *.key there for a client certificate.
                certificates = folder.File("certs");
                Directory.CreateDirectory(certificates);
                authority.WritePem(Path.Combine(certificates, "ca.crt"));
                using var server = authority.IssueServerCertificate();
                File.WriteAllText(folder.File("server.crt"), server.ExportCertificatePem());
                File.WriteAllText(folder.File("server.key"), server.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
                config.Add("  tls:");
                config.Add($"    certificate: {folder.File("server.crt")}");
                config.Add($"    key: {folder.File("server.key")}");
            }

            if (options.UserName is not null)
            {
                var htpasswd = folder.File("htpasswd");
                File.WriteAllText(htpasswd, ExternalTool.Run("htpasswd", "-Bbn", options.UserName, options.Password!));
                config.AddRange(["auth:", "  htpasswd:", "    realm: test-registry", $"    path: {htpasswd}"]);
            }
            else if (options.TokenRealm is not null)
            {
                config.AddRange([
                    "auth:",
                    "  token:",
                    $"    realm: {options.TokenRealm}",
                    $"    service: {options.TokenService}",
                    $"    issuer: {options.TokenIssuer}",
                    $"    rootcertbundle: {options.TokenRootCertificateFile}",
                ]);
            }

            var configFile = folder.File("config.yml");
            File.WriteAllLines(configFile, config);
            var info = new ProcessStartInfo("docker-registry") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            info.ArgumentList.Add("serve");
            info.ArgumentList.Add(configFile);
            var process = Process.Start(info) ?? throw new InvalidOperationException("docker-registry did not start.");
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var registry = new TestRegistry(process, folder, options, port, certificates);
            registry.WaitUntilListening();
            return registry;
        }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    /// <summary>Pushes the image <paramref name="layout"/> tags <paramref name="layoutTag"/> to <paramref name="destination"/> (repo:tag), every platform of an index.</summary>
    /// <param name="dockerFormat">Convert to Docker v2 schema 2 media types on the way, as a docker push would have written them.</param>
    public void Push(OciLayoutBuilder layout, string layoutTag, string destination, bool dockerFormat = false)
    {
        var arguments = new List<string> { "--insecure-policy", "copy", "--all", "--quiet" };
        arguments.Add(dockerFormat ? "--format=v2s2" : "--preserve-digests");
        arguments.Add(certificateDirectory is null ? "--dest-tls-verify=false" : $"--dest-cert-dir={certificateDirectory}");
        if ((options.PushCredentials ?? (options.UserName is null ? null : $"{options.UserName}:{options.Password}")) is { } credentials)
        {
            arguments.Add($"--dest-creds={credentials}");
        }

        arguments.Add($"oci:{layout.Directory}:{layoutTag}");
        arguments.Add($"docker://{Host}/{destination}");
        ExternalTool.Run("skopeo", [.. arguments]);
    }

    /// <summary>Where the registry keeps a blob's bytes, for tests that tamper with them.</summary>
    public string BlobDataPath(OciBlob blob) => Path.Combine(StorageDirectory, "docker", "registry", "v2", "blobs", "sha256", blob.Hex[..2], blob.Hex, "data");

    public void Dispose()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
        }
        catch (InvalidOperationException)
        {
        }

        process.Dispose();
        folder.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void WaitUntilListening()
    {
        // Ready once it accepts connections; the process exiting first means a bad configuration.
        for (var attempt = 0; attempt < 300; attempt++)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"docker-registry exited with {process.ExitCode} before listening on {Host}.");
            }

            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(50);
            }
        }

        throw new InvalidOperationException($"docker-registry did not listen on {Host}.");
    }
}
