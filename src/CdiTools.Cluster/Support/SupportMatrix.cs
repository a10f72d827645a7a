using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace CdiTools.Cluster.Support;

/// <summary>
/// CDI's operations matrix: for each content type and image format, and each endpoint, whether
/// CDI imports it and whether that needs scratch space; as CDI's documentation states it, and as
/// a given CDI release really behaves. The facts, with their sources in CDI's history, are data
/// (<c>support-matrix.yaml</c>); this class applies them.
/// </summary>
public sealed class SupportMatrix
{
    private const string EmbeddedName = "CdiTools.Cluster.Support.support-matrix.yaml";

    private static readonly Lazy<SupportMatrix> EmbeddedMatrix = new(LoadEmbedded);

    private readonly SupportMatrixDocument document;
    private readonly List<(CdiContentType ContentType, CdiImageFormat Format)> rows;
    private readonly Cell[] documentedCells;
    private readonly Cell[] baselineCells;
    private readonly List<(SupportChange Change, ChangeDefinition Definition)> changes;

    private SupportMatrix(SupportMatrixDocument document)
    {
        this.document = document;
        var documentedSection = document.Documented ?? throw Invalid("the 'documented' section is missing");
        var releases = document.Releases ?? throw Invalid("the 'releases' section is missing");
        var baseline = releases.Baseline ?? throw Invalid("the 'releases.baseline' section is missing");

        Endpoints = document.Endpoints.Distinct().ToArray();
        if (Endpoints.Count != Enum.GetValues<CdiEndpoint>().Length || Endpoints.Count != document.Endpoints.Count)
        {
            throw Invalid("'endpoints' must list every endpoint once");
        }

        OldestRelease = ParseRelease(document.OldestRelease, "oldestRelease");
        NewestRelease = ParseRelease(document.NewestRelease, "newestRelease");

        rows = [];
        var cells = new List<Cell>();
        foreach (var row in documentedSection.Rows)
        {
            if (rows.Any(r => r.Format == row.Format))
            {
                throw Invalid($"the row for {row.Format} appears twice");
            }

            if (row.Marks.Count != Endpoints.Count)
            {
                throw Invalid($"the row for {row.Format} has {row.Marks.Count} marks for {Endpoints.Count} endpoints");
            }

            rows.Add((row.ContentType, row.Format));
            for (var i = 0; i < Endpoints.Count; i++)
            {
                cells.Add(new Cell(row.ContentType, row.Format, Endpoints[i]) { Scratch = ParseMark(row.Marks[i], row.Format) });
            }
        }

        var missing = Enum.GetValues<CdiImageFormat>().Except(rows.Select(r => r.Format)).ToList();
        if (missing.Count > 0)
        {
            throw Invalid($"no row for {string.Join(", ", missing)}");
        }

        documentedCells = [.. cells];
        Apply(documentedCells, documentedSection.Rules, change: null, "documented");
        DocumentedScratchStorageClass = Required(documentedSection.ScratchStorageClass, "documented.scratchStorageClass");

        baselineCells = Clone(documentedCells);
        Apply(baselineCells, baseline.Rules, change: null, "releases.baseline");
        BaselineScratchStorageClass = Required(baseline.ScratchStorageClass, "releases.baseline.scratchStorageClass");

        changes = [];
        foreach (var definition in releases.Changes)
        {
            var where = $"change '{definition.Title}'";
            if (definition.FirstReleases.Count == 0)
            {
                throw Invalid($"{where} has no firstReleases");
            }

            var change = new SupportChange(
                Required(definition.Title, "a change's title"),
                definition.PullRequest > 0 ? definition.PullRequest : throw Invalid($"{where} has no pullRequest"),
                Required(definition.Commit, $"{where}: commit"),
                definition.FirstReleases.Select(r => ParseRelease(r, $"{where}: firstReleases")).Order().ToArray());

            // Check the rules now, against a scratch copy, so a bad change fails at load, not at the first query.
            Apply(Clone(baselineCells), definition.Rules, change, where);
            changes.Add((change, definition));
        }

        Documented = Build(documentedCells, release: null, DocumentedScratchStorageClass);
    }

    /// <summary>The matrix shipped with CdiTools.</summary>
    public static SupportMatrix Cdi => EmbeddedMatrix.Value;

    /// <summary>The endpoint columns, in the documentation's order.</summary>
    public IReadOnlyList<CdiEndpoint> Endpoints { get; }

    /// <summary>The oldest release whose behaviour is modelled.</summary>
    public CdiVersion OldestRelease { get; }

    /// <summary>The newest release known when the data was written; later releases are answered as it.</summary>
    public CdiVersion NewestRelease { get; }

    /// <summary>Which class scratch PVCs get, as the documentation states it.</summary>
    public string DocumentedScratchStorageClass { get; }

    /// <summary>Which class scratch PVCs get in the oldest modelled release.</summary>
    public string BaselineScratchStorageClass { get; }

    /// <summary>The changes in CDI's history that moved its behaviour, oldest first.</summary>
    public IReadOnlyList<SupportChange> Changes => changes.Select(c => c.Change).ToArray();

    /// <summary>Releases worth naming: the oldest and newest modelled, and each first release of a change.</summary>
    public IReadOnlyList<CdiVersion> NotableReleases =>
        changes.SelectMany(c => c.Change.FirstReleases).Append(OldestRelease).Append(NewestRelease).Distinct().Order().ToArray();

    /// <summary>The documented matrix, row by row and endpoint by endpoint.</summary>
    public IReadOnlyList<SupportEntry> Documented { get; }

    /// <summary>What an answer is taken from: "CDI documentation", or "CDI v1.66.0" for a release.</summary>
    public static string SourceName(CdiVersion? release) => release is null ? "CDI documentation" : $"CDI {release}";

    /// <summary>Reads a matrix from YAML and checks it whole.</summary>
    /// <exception cref="InvalidDataException">The YAML is malformed or the matrix inconsistent; the message says where.</exception>
    public static SupportMatrix Load(TextReader yaml)
    {
        var deserializer = new DeserializerBuilder()
            .WithNamingConvention(CamelCaseNamingConvention.Instance)
            .Build();
        SupportMatrixDocument? document;
        try
        {
            document = deserializer.Deserialize<SupportMatrixDocument>(yaml);
        }
        catch (YamlException e)
        {
            throw Invalid($"{e.Message} (line {e.Start.Line}, column {e.Start.Column}){(e.InnerException is null ? string.Empty : ": " + e.InnerException.Message)}");
        }

        return new SupportMatrix(document ?? throw Invalid("the document is empty"));
    }

    /// <summary>What <paramref name="release"/> does, row by row and endpoint by endpoint.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The release is older than <see cref="OldestRelease"/>.</exception>
    public IReadOnlyList<SupportEntry> ForRelease(CdiVersion release)
    {
        if (release < OldestRelease)
        {
            throw new ArgumentOutOfRangeException(
                nameof(release),
                release,
                $"CDI {release} is older than {OldestRelease}, the oldest release whose behaviour CdiTools models.");
        }

        var cells = Clone(baselineCells);
        var scratchStorageClass = BaselineScratchStorageClass;
        foreach (var (change, definition) in changes.Where(c => c.Change.IsIn(release)))
        {
            Apply(cells, definition.Rules, change, definition.Title);
            scratchStorageClass = definition.ScratchStorageClass ?? scratchStorageClass;
        }

        return Build(cells, release, scratchStorageClass);
    }

    /// <summary>The entries that answer <paramref name="query"/>, in the matrix's order.</summary>
    public IEnumerable<SupportEntry> Select(SupportQuery query)
    {
        var entries = query.Release is { } release ? ForRelease(release) : Documented;
        return entries.Where(query.Matches);
    }

    /// <summary>The answer to <paramref name="query"/> as a grid: one row per content type and format.</summary>
    public IEnumerable<SupportGridRow> Grid(SupportQuery query) =>
        Select(query)
            .GroupBy(e => (e.ContentType, e.Format))
            .Select(g => new SupportGridRow(g.Key.ContentType, g.Key.Format, query.Release, g.ToDictionary(e => e.Endpoint)));

    private SupportEntry[] Build(Cell[] cells, CdiVersion? release, string scratchStorageClass)
    {
        var documentedByKey = release is null ? null : documentedCells.ToDictionary(c => c.Key);
        return cells.Select(cell =>
        {
            var documentedMark = SupportMarks.Of(documentedByKey is null ? cell.Scratch : documentedByKey[cell.Key].Scratch);
            var notes = cell.NoteKeys.Select(key => document.Notes[key]).ToList();
            var mark = SupportMarks.Of(cell.Scratch);
            if (release is not null && mark != documentedMark)
            {
                notes.Add(cell.ChangedBy is { } change
                    ? $"CDI's documentation marks this {documentedMark}; {release} behaves as {mark} since {change.Citation}."
                    : $"CDI's documentation marks this {documentedMark}; its code behaves as {mark} in every release CdiTools models ({OldestRelease} and later).");
            }

            return new SupportEntry
            {
                ContentType = cell.ContentType,
                Format = cell.Format,
                Endpoint = cell.Endpoint,
                Scratch = cell.Scratch,
                Condition = cell.ConditionKey is null ? null : document.Conditions[cell.ConditionKey],
                ConditionKey = cell.ConditionKey,
                Reason = cell.ReasonKey is null ? null : document.Reasons[cell.ReasonKey],
                Notes = notes,
                ScratchStorageClass = cell.Scratch is ScratchUse.Always or ScratchUse.Conditional ? scratchStorageClass : null,
                Release = release,
                DocumentedMark = documentedMark,
            };
        }).ToArray();
    }

    private void Apply(Cell[] cells, List<RuleDefinition> rules, SupportChange? change, string where)
    {
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            var at = $"{where}, rule {i + 1}";
            CheckKey(document.Conditions, rule.Condition, "condition", at);
            CheckKey(document.Reasons, rule.Reason, "reason", at);
            CheckKey(document.Notes, rule.Note, "note", at);

            var selected = cells.Where(c =>
                (rule.ContentTypes is null || rule.ContentTypes.Contains(c.ContentType))
                && (rule.Formats is null || rule.Formats.Contains(c.Format))
                && (rule.Endpoints is null || rule.Endpoints.Contains(c.Endpoint))).ToList();
            if (selected.Count == 0)
            {
                throw Invalid($"{at} selects no cell");
            }

            foreach (var cell in selected)
            {
                if (rule.Mark is not null)
                {
                    cell.Scratch = ParseMark(rule.Mark, at);
                    cell.ConditionKey = rule.Condition;
                    cell.ReasonKey = rule.Reason;
                    cell.ChangedBy = change;
                }
                else
                {
                    cell.ConditionKey = rule.Condition ?? cell.ConditionKey;
                    cell.ReasonKey = rule.Reason ?? cell.ReasonKey;
                }

                if (rule.Note is not null && !cell.NoteKeys.Contains(rule.Note))
                {
                    cell.NoteKeys.Add(rule.Note);
                }

                if ((cell.Scratch == ScratchUse.Conditional) != (cell.ConditionKey is not null))
                {
                    throw Invalid(cell.Scratch == ScratchUse.Conditional
                        ? $"{at}: {cell.Format} from {cell.Endpoint} needs scratch under a condition, but none is named"
                        : $"{at}: {cell.Format} from {cell.Endpoint} has a condition but is not marked {SupportMarks.ConditionalScratch}");
                }
            }
        }

        var unexplained = cells.FirstOrDefault(c => c.Scratch is ScratchUse.Always or ScratchUse.Conditional && c.ReasonKey is null);
        if (unexplained is not null)
        {
            throw Invalid($"{where}: {unexplained.Format} from {unexplained.Endpoint} needs scratch space, but no reason says why");
        }
    }

    private static void CheckKey(Dictionary<string, string> texts, string? key, string kind, string at)
    {
        if (key is not null && !texts.ContainsKey(key))
        {
            throw Invalid($"{at} names the {kind} '{key}', which is not defined");
        }
    }

    private static Cell[] Clone(Cell[] cells) => cells.Select(c => c.Clone()).ToArray();

    private static ScratchUse ParseMark(string mark, object where)
    {
        try
        {
            return SupportMarks.Parse(mark);
        }
        catch (FormatException e)
        {
            throw Invalid($"{where}: {e.Message}");
        }
    }

    private static CdiVersion ParseRelease(string text, string where) =>
        CdiVersion.TryParse(text, out var version) ? version : throw Invalid($"{where}: '{text}' is not a release such as v1.66.0");

    private static string Required(string? text, string where) =>
        string.IsNullOrWhiteSpace(text) ? throw Invalid($"{where} is missing") : text;

    private static InvalidDataException Invalid(string message) => new($"Support matrix data: {message}.");

    private static SupportMatrix LoadEmbedded()
    {
        using var stream = typeof(SupportMatrix).Assembly.GetManifestResourceStream(EmbeddedName)
            ?? throw new InvalidOperationException($"The resource {EmbeddedName} is missing from {typeof(SupportMatrix).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return Load(reader);
    }

    private sealed class Cell(CdiContentType contentType, CdiImageFormat format, CdiEndpoint endpoint)
    {
        public CdiContentType ContentType { get; } = contentType;

        public CdiImageFormat Format { get; } = format;

        public CdiEndpoint Endpoint { get; } = endpoint;

        public (CdiImageFormat, CdiEndpoint) Key => (Format, Endpoint);

        public ScratchUse Scratch { get; set; }

        public string? ConditionKey { get; set; }

        public string? ReasonKey { get; set; }

        public List<string> NoteKeys { get; private init; } = [];

        /// <summary>The change that set the current behaviour; null when the documentation or the baseline did.</summary>
        public SupportChange? ChangedBy { get; set; }

        public Cell Clone() => new(ContentType, Format, Endpoint)
        {
            Scratch = Scratch,
            ConditionKey = ConditionKey,
            ReasonKey = ReasonKey,
            NoteKeys = [.. NoteKeys],
            ChangedBy = ChangedBy,
        };
    }
}
