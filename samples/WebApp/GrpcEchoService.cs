using System.Threading.Tasks;
using Grpc.Core;
using WebApp.Grpc;

namespace WebApp;

/// <summary>
/// /benchmarks.Echo/Say: the grpc-unary benchmark's call. It answers with the message it got, so the
/// figures measure HTTP/2 and gRPC framing on the transport rather than any work of the service.
/// </summary>
internal sealed class GrpcEchoService : Echo.EchoBase
{
    public override Task<EchoMessage> Say(EchoMessage request, ServerCallContext context) => Task.FromResult(request);
}
