using System;
using System.Collections.Generic;
using System.Linq;
using ScottPlot;
using SkiaSharp;
using Transport.IoUring.Benchmarks.Results;

namespace Transport.IoUring.Benchmarks.Reporting;

/// <summary>
/// PNG charts of a run: one image of req/s and one of CPU-µs/req, each a grid with one panel per
/// scenario (their scales differ by orders of magnitude) and the transports side by side as bars:
/// the bar is the median, the dots are the rounds.
/// </summary>
internal static class ChartRenderer
{
    private const int PanelWidth = 360;
    private const int PanelHeight = 300;
    private const int Columns = 5;

    private static readonly string[] s_palette = ["#4E79A7", "#E15759", "#76B7B2", "#F28E2B", "#59A14F", "#B07AA1"];

    public static IReadOnlyList<string> Render(RunReport run, string pathStem)
    {
        ArgumentNullException.ThrowIfNull(run);
        var written = new List<string>();
        var transports = run.Settings.Transports;

        var loadScenarios = run.Scenarios.Where(s => s.SkippedReason is null && s.Transports.All(t => t.Idle is null) && s.Transports.Any(t => !t.Failed)).ToList();
        if (loadScenarios.Count > 0)
        {
            string path = pathStem + "-rps.png";
            RenderGrid(loadScenarios, transports, "requests/s (higher: more served)", path,
                r => r.RequestsPerSecond, _ => null, Format.Short);
            written.Add(path);
        }

        var cpuScenarios = run.Scenarios.Where(s => s.SkippedReason is null && s.Transports.Any(t => !t.Failed)).ToList();
        if (cpuScenarios.Count > 0)
        {
            string path = pathStem + "-cpu.png";
            RenderGrid(cpuScenarios, transports, "server CPU-µs per request (lower: cheaper)", path,
                r => r.CpuMicrosecondsPerRequest, idle => idle.CpuMicrosecondsPerConnection, v => Format.Significant(v));
            written.Add(path);
        }

        return written;
    }

    private static void RenderGrid(List<ScenarioReport> scenarios, IReadOnlyList<string> transports, string title, string path,
        Func<RoundReport, double?> perRound, Func<IdleReport, double?> perIdle, Func<double, string> label)
    {
        int columns = Math.Min(Columns, scenarios.Count);
        int rows = (scenarios.Count + columns - 1) / columns;
        const int TitleHeight = 40;
        var info = new SKImageInfo(columns * PanelWidth, rows * PanelHeight + TitleHeight);
        using var surface = SKSurface.Create(info);
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using (var font = new SKFont(SKTypeface.Default, 20))
        using (var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true })
        {
            canvas.DrawText(title, 12, 28, SKTextAlign.Left, font, paint);
        }

        for (int i = 0; i < scenarios.Count; i++)
        {
            var plot = RenderPanel(scenarios[i], transports, perRound, perIdle, label);
            byte[] png = plot.GetImageBytes(PanelWidth, PanelHeight, ImageFormat.Png);
            using var bitmap = SKBitmap.Decode(png);
            canvas.DrawBitmap(bitmap, i % columns * PanelWidth, TitleHeight + i / columns * PanelHeight);
        }

        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        using var file = System.IO.File.Create(path);
        data.SaveTo(file);
    }

    private static Plot RenderPanel(ScenarioReport scenario, IReadOnlyList<string> transports,
        Func<RoundReport, double?> perRound, Func<IdleReport, double?> perIdle, Func<double, string> label)
    {
        var plot = new Plot();
        var bars = new List<Bar>();
        var ticks = new List<Tick>();
        double max = 0;
        for (int i = 0; i < transports.Count; i++)
        {
            var transport = scenario.Transports.FirstOrDefault(t => t.Name == transports[i]);
            var color = Color.FromHex(s_palette[i % s_palette.Length]);
            ticks.Add(new Tick(i, transports[i]));
            if (transport is null || transport.Failed)
            {
                continue;
            }

            List<double> values = transport.Idle is { } idle
                ? (perIdle(idle) is double v ? [v] : [])
                : transport.Rounds.Where(r => r.FailureReason is null).Select(perRound).Where(x => x.HasValue).Select(x => x!.Value).ToList();
            if (values.Count == 0)
            {
                continue;
            }

            double median = TransportSummary.Median(values)!.Value;
            max = Math.Max(max, values.Max());
            bars.Add(new Bar { Position = i, Value = median, FillColor = color, Label = label(median) });
            if (values.Count > 1)
            {
                var dots = plot.Add.Markers(Enumerable.Repeat((double)i, values.Count).ToArray(), values.ToArray(), MarkerShape.FilledCircle, 5, Colors.Black);
                dots.MarkerStyle.FillColor = Colors.Black;
            }
        }

        var barPlot = plot.Add.Bars(bars);
        barPlot.ValueLabelStyle.FontSize = 12;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.HideGrid();
        string title = scenario.Transports.Any(t => t.Idle is not null) ? scenario.Name + " (per connection)" : scenario.Name;
        if (scenario.Transports.Any(t => t.Rounds.Any(r => r.Disturbed)))
        {
            title += " (disturbed)";
        }

        plot.Title(title, size: 14);
        plot.Axes.SetLimitsY(0, max > 0 ? max * 1.15 : 1);
        plot.Axes.SetLimitsX(-0.6, transports.Count - 0.4);
        return plot;
    }
}
