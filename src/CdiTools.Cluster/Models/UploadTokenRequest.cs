using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace CdiTools.Cluster.Models;

/// <summary>
/// An UploadTokenRequest (upload.cdi.kubevirt.io/v1beta1, namespaced, create only): asks CDI's
/// API server for a token that lets the upload proxy accept data for one PVC, valid 5 minutes.
/// </summary>
public sealed class UploadTokenRequest : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")]
    public string? ApiVersion { get; set; } = $"{CdiResources.UploadGroup}/{CdiResources.CdiVersion}";

    [JsonPropertyName("kind")]
    public string? Kind { get; set; } = "UploadTokenRequest";

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public UploadTokenRequestSpec Spec { get; set; } = new();

    [JsonPropertyName("status")]
    public UploadTokenRequestStatus? Status { get; set; }
}

/// <summary>Which PVC the token is for.</summary>
public sealed class UploadTokenRequestSpec
{
    [JsonPropertyName("pvcName")]
    public string PvcName { get; set; } = "";
}

/// <summary>The token, a JWT for the upload proxy's Authorization header.</summary>
public sealed class UploadTokenRequestStatus
{
    [JsonPropertyName("token")]
    public string? Token { get; set; }
}
