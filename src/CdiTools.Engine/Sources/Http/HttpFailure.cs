namespace CdiTools.Engine.Sources.Http;

/// <summary>
/// A refusal not yet thrown, so that a retry loop can add how many attempts it took before it
/// becomes an <see cref="ImageException"/>.
/// </summary>
internal sealed record HttpFailure(ImageError Error, string Message, long? Offset = null, Exception? Inner = null)
{
    public string ErrorId => Error.Id;

    public ImageException ToException(int attempts = 1) =>
        new(Error, attempts > 1 ? $"{Message} Gave up after {attempts} attempts." : Message, Offset, Inner);
}

/// <summary>A failure worth repeating the request for: a 5xx answer, a dropped connection, a timeout.</summary>
internal sealed class TransientHttpException(HttpFailure failure) : Exception(failure.Message, failure.Inner)
{
    public HttpFailure Failure { get; } = failure;
}
