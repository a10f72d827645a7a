using System.Management.Automation;

namespace CdiTools.Runtime;

/// <summary>
/// Lets a name parameter take a Kubernetes object: a string stays itself; an object with a Name
/// property (CdiTools output, KubernetesClient models) or a metadata.name (kubectl get -o json |
/// ConvertFrom-Json) gives that name.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class KubernetesNameTransformationAttribute : ArgumentTransformationAttribute
{
    /// <inheritdoc />
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
        if (value is string or null)
        {
            return inputData;
        }

        // For string[] parameters: each element on its own.
        if (value is System.Collections.IList list)
        {
            return list.Cast<object?>().Select(item => Transform(engineIntrinsics, item!)).ToArray();
        }

        return KubernetesObjectReference.From(inputData)?.Name ?? throw new ArgumentTransformationMetadataException(
            $"A {value.GetType().Name} has neither a Name nor a metadata.name to take as the object's name.");
    }
}
