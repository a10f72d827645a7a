using System.Management.Automation;
using CdiTools.Cluster;
using CdiTools.Cluster.Connection;

namespace CdiTools.Runtime;

/// <summary>
/// What every cmdlet that talks to a cluster takes: -KubeConfig and -Context, resolved as kubectl
/// resolves them (the file, else KUBECONFIG, else ~/.kube/config, else in-cluster), with one client
/// per kubeconfig and context for the session.
/// </summary>
public abstract class ClusterCmdlet : WorkerCmdlet
{
    /// <summary>The kubeconfig file; KUBECONFIG, then ~/.kube/config, then the in-cluster account when omitted.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KubeConfig { get; set; }

    /// <summary>The kubeconfig context; its current context when omitted.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Context { get; set; }

    private ClusterConnection? connection;

    /// <summary>
    /// ShouldProcess, answered by <paramref name="force"/> as Remove-Item's -Force answers it; an
    /// explicit -Confirm and -WhatIf (or $WhatIfPreference) still win.
    /// </summary>
    protected bool ShouldProcessUnlessForced(bool force, string target, string action) =>
        (force
            && !MyInvocation.BoundParameters.ContainsKey("Confirm")
            && !MyInvocation.BoundParameters.ContainsKey("WhatIf")
            && !LanguagePrimitives.IsTrue(SessionState.PSVariable.GetValue("WhatIfPreference")))
        || ShouldProcess(target, action);

    /// <summary>The connection for these parameters, made once per call; a configuration problem is a terminating error.</summary>
    protected ClusterConnection Connect() => connection ??= ConnectNow();

    private ClusterConnection ConnectNow() => ConnectFor(this, KubeConfig, Context);

    /// <summary>
    /// The connection for a kubeconfig and context as a cmdlet's parameters give them, saying which
    /// in Verbose; a configuration problem is a terminating error. For cmdlets that cannot derive
    /// from this class (Import-CdiImage is an image cmdlet first).
    /// </summary>
    internal static ClusterConnection ConnectFor(PSCmdlet cmdlet, string? kubeConfig, string? context)
    {
        try
        {
            var connection = ClusterConnections.Connect(new ClusterTarget(
                kubeConfig is null ? null : cmdlet.GetUnresolvedProviderPathFromPSPath(kubeConfig),
                context));
            cmdlet.WriteVerbose($"Cluster {connection.Server} from {connection.Source}; default namespace {connection.Namespace}.");
            return connection;
        }
        catch (ClusterException e)
        {
            cmdlet.ThrowTerminatingError(ErrorRecords.From(e, kubeConfig ?? context));
            throw;
        }
    }
}
