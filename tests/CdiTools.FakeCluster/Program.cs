using System.Runtime.InteropServices;
using CdiTools.Testing.FakeCluster;
using CdiTools.Testing.Http;

// Starts the fake API server, seeds it (with CDI's upload proxy when the scenario asks; clients
// find it through CDIConfig), writes a kubeconfig, prints "READY <baseUri>" and serves
// until standard input closes or SIGTERM/SIGINT arrives, so a test harness can run it in the
// background and stop it either way.
const string Usage = "usage: CdiTools.FakeCluster --kubeconfig <path> [--namespace <ns>] [--scenario <file.json>] [--context <name>] [--auth token|client-certificate|exec] [--ignore-stdin] [--internet <folder> --internet-ca <file.pem>]";

string? kubeconfig = null, ns = null, scenario = null, context = "fake", internetRoot = null, internetCa = null;
var auth = KubeconfigAuth.Token;
var watchStdin = true;
for (var i = 0; i < args.Length; i++)
{
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
    try
    {
        switch (args[i])
        {
            case "--kubeconfig":
                kubeconfig = Value();
                break;
            case "--namespace":
                ns = Value();
                break;
            case "--scenario":
                scenario = Value();
                break;
            case "--context":
                context = Value();
                break;
            case "--auth":
                auth = Value() switch
                {
                    "token" => KubeconfigAuth.Token,
                    "client-certificate" => KubeconfigAuth.ClientCertificate,
                    "exec" => KubeconfigAuth.Exec,
                    var other => throw new ArgumentException($"unknown --auth {other}"),
                };
                break;
            case "--ignore-stdin":
                // For harnesses whose child processes get no usable standard input (it would read as closed at once).
                watchStdin = false;
                break;
            case "--internet":
                // Public hosts for documentation examples, served from a folder through an HTTPS proxy (see FakeInternet).
                internetRoot = Value();
                break;
            case "--internet-ca":
                internetCa = Value();
                break;
            case "--help" or "-h":
                Console.WriteLine(Usage);
                return 0;
            default:
                throw new ArgumentException($"unknown argument {args[i]}");
        }
    }
    catch (ArgumentException e)
    {
        Console.Error.WriteLine(e.Message);
        Console.Error.WriteLine(Usage);
        return 2;
    }
}

if (kubeconfig is null || (internetRoot is null) != (internetCa is null))
{
    Console.Error.WriteLine(Usage);
    return 2;
}

await using var server = await FakeApiServer.StartAsync();
if (scenario is not null)
{
    await FakeClusterScenario.Load(scenario).ApplyToAsync(server);
}

if (ns is not null && server.GetObject("v1", "Namespace", ns) is null)
{
    server.AddNamespace(ns);
}

server.WriteKubeconfig(kubeconfig, context, ns, auth);

await using var internet = internetRoot is null ? null : await FakeInternet.StartAsync(internetRoot);
if (internet is not null)
{
    File.WriteAllText(internetCa!, internet.CertificateAuthorityPem);
    Console.Out.WriteLine($"INTERNET {internet.ProxyUri}");
}

var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
void OnSignal(PosixSignalContext signal)
{
    signal.Cancel = true;
    stop.TrySetResult();
}

using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
if (watchStdin)
{
    _ = Task.Run(async () =>
    {
        await Console.In.ReadToEndAsync().ConfigureAwait(false);
        stop.TrySetResult();
    });
}

Console.Out.WriteLine($"READY {server.BaseUri}");
Console.Out.Flush();
await stop.Task.ConfigureAwait(false);
return 0;
