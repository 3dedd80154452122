using System;
using System.IO;
using System.Linq;
using System.Reflection;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Transport.IoUring.Tests.Sample;
using Xunit;

namespace Transport.IoUring.Tests.Configuration;

/// <summary>
/// docs/configuration.md maps every public member of Kestrel's <see cref="SocketTransportOptions"/>
/// (of the ASP.NET Core the tests run on) to its counterpart here, or says why there is none.
/// </summary>
public sealed class SocketTransportOptionsMappingTests
{
    [Fact]
    public void EveryPublicMemberOfSocketTransportOptionsHasARowInTheMappingTable()
    {
        string repository = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(SampleServerProcess.FindWebAppDll())!, "..", "..", "..", "..", ".."));
        string[] lines = File.ReadAllLines(Path.Combine(repository, "docs", "configuration.md"));
        int start = Array.FindIndex(lines, l => l.StartsWith("## Coming from the Sockets transport", StringComparison.Ordinal));
        Assert.True(start >= 0, "docs/configuration.md has no \"## Coming from the Sockets transport\" section");
        var rows = lines.Skip(start + 1).TakeWhile(l => !l.StartsWith("## ", StringComparison.Ordinal)).Where(l => l.StartsWith("| `", StringComparison.Ordinal) && !l.StartsWith("| `SocketTransportOptions`", StringComparison.Ordinal)).ToArray();

        var members = typeof(SocketTransportOptions).GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
            .Where(m => m is PropertyInfo or MethodInfo { IsSpecialName: false } or FieldInfo)
            .Select(m => m.Name)
            .Distinct()
            .ToArray();
        Assert.NotEmpty(members);
        foreach (string member in members)
        {
            Assert.True(rows.Any(r => r.StartsWith($"| `{member}`", StringComparison.Ordinal)), $"no row for SocketTransportOptions.{member} in docs/configuration.md; members: {string.Join(", ", members)}");
        }

        Assert.Equal(members.Length, rows.Length);
    }
}
