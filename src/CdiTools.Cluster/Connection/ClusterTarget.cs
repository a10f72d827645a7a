namespace CdiTools.Cluster.Connection;

/// <summary>Which cluster to talk to: a kubeconfig file (else KUBECONFIG, ~/.kube/config, in-cluster), a context, a namespace.</summary>
public sealed record ClusterTarget(string? KubeConfig = null, string? Context = null, string? Namespace = null);
