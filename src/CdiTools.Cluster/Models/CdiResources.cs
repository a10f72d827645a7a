namespace CdiTools.Cluster.Models;

/// <summary>Where CDI's and HyperConverged's objects live in the API, and the names CDI gives its singletons.</summary>
public static class CdiResources
{
    public const string CdiGroup = "cdi.kubevirt.io";
    public const string CdiVersion = "v1beta1";
    public const string UploadGroup = "upload.cdi.kubevirt.io";
    public const string HcoGroup = "hco.kubevirt.io";
    public const string HcoVersion = "v1beta1";

    public const string CdiPlural = "cdis";
    public const string CdiConfigPlural = "cdiconfigs";
    public const string StorageProfilePlural = "storageprofiles";
    public const string DataVolumePlural = "datavolumes";
    public const string HyperConvergedPlural = "hyperconvergeds";
    public const string UploadTokenRequestPlural = "uploadtokenrequests";

    /// <summary>The one CDIConfig, which the CDI operator creates.</summary>
    public const string CdiConfigName = "config";

    /// <summary>The annotation by which the CDI CR says it owns CDIConfig's spec (CDI v1.27.0 and later, PR 1516).</summary>
    public const string ConfigAuthorityAnnotation = "cdi.kubevirt.io/configAuthority";

    /// <summary>The annotation that marks a cluster's default StorageClass.</summary>
    public const string DefaultStorageClassAnnotation = "storageclass.kubernetes.io/is-default-class";

    /// <summary>The older, beta form of that annotation, which admission still honours.</summary>
    public const string BetaDefaultStorageClassAnnotation = "storageclass.beta.kubernetes.io/is-default-class";
}
