using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Transport.IoUring.Benchmarks.Measurement;
using Transport.IoUring.Benchmarks.Results;

namespace Transport.IoUring.Benchmarks.Reporting;

/// <summary>
/// The <c>--perf</c> table: per scenario and row, the round's CPU-µs per request split by where the
/// samples fell (<see cref="PerfProfile"/>), medians over the profiled rounds.
/// </summary>
internal static class ProfileTable
{
    public static string Render(RunReport report)
    {
        System.ArgumentNullException.ThrowIfNull(report);
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Where the CPU goes, {report.StartedAt:yyyy-MM-dd HH:mm} UTC");
        md.AppendLine();
        md.AppendLine("Each measured round of the server ran under `perf record -F 2999 -g`. A sample whose leaf frame is in");
        md.AppendLine("the kernel counts for the kernel; any other counts for the first frame, from the leaf up, that is not");
        md.AppendLine("the runtime's (a memmove or lock is charged to whoever called it). Cells are CPU-µs per request (the round's server utime + stime per response,");
        md.AppendLine("times the category's share of samples), medians over the rounds. perf's own cost is in these");
        md.AppendLine("rounds: compare rows of this table with each other, not with unprofiled runs.");
        foreach (var scenario in report.Scenarios)
        {
            var rows = scenario.Transports
                .Select(t => (t.Name, Rounds: t.Rounds.Where(r => r.ProfileShares is not null && r.CpuMicrosecondsPerRequest is not null).ToList()))
                .Where(t => t.Rounds.Count > 0)
                .ToList();
            if (rows.Count == 0)
            {
                continue;
            }

            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"## {scenario.Name}");
            md.AppendLine();
            md.AppendLine("| code | " + string.Join(" | ", rows.Select(r => r.Name)) + " |");
            md.AppendLine("|---|" + string.Concat(rows.Select(_ => "---:|")));
            foreach (string category in PerfProfile.Categories.Append("all"))
            {
                var cells = rows.Select(r => Median(r.Rounds.Select(round => category == "all"
                    ? round.CpuMicrosecondsPerRequest!.Value
                    : round.CpuMicrosecondsPerRequest!.Value * round.ProfileShares!.GetValueOrDefault(category))));
                string name = category == "all" ? "**all (CPU-µs/req)**" : category;
                md.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {string.Join(" | ", cells.Select(c => c.ToString("0.00", CultureInfo.InvariantCulture)))} |");
            }
        }

        return md.ToString();
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        return sorted.Count == 0 ? 0 : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
