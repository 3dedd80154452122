using System;
using System.Collections.Generic;
using Microsoft.Extensions.Options;

namespace Transport.IoUring;

/// <summary>Checks <see cref="IoUringTransportOptions"/> at start-up; each message names the option and its value.</summary>
internal sealed class IoUringTransportOptionsValidator : IValidateOptions<IoUringTransportOptions>
{
    public ValidateOptionsResult Validate(string? name, IoUringTransportOptions options)
    {
        var errors = GetErrors(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public static void ThrowIfInvalid(IoUringTransportOptions options)
    {
        var errors = GetErrors(options);
        if (errors.Count != 0)
        {
            throw new OptionsValidationException(nameof(IoUringTransportOptions), typeof(IoUringTransportOptions), errors);
        }
    }

    private static List<string> GetErrors(IoUringTransportOptions o)
    {
        var errors = new List<string>();
        if (o.RingCount < 1 || o.RingCount > 1024)
        {
            errors.Add($"IoUringTransportOptions.RingCount must be between 1 and 1024; it is {o.RingCount}.");
        }

        if (!IsPowerOfTwoInRange(o.RingEntries, 16, 32768))
        {
            errors.Add($"IoUringTransportOptions.RingEntries must be a power of two between 16 and 32768; it is {o.RingEntries}.");
        }

        if (!IsPowerOfTwoInRange(o.BufferRingEntries, 1, 32768))
        {
            errors.Add($"IoUringTransportOptions.BufferRingEntries must be a power of two between 1 and 32768; it is {o.BufferRingEntries}.");
        }

        if (o.BufferRingBufferSize < 1024 || o.BufferRingBufferSize > 1024 * 1024)
        {
            errors.Add($"IoUringTransportOptions.BufferRingBufferSize must be between 1024 and 1048576 bytes; it is {o.BufferRingBufferSize}.");
        }

        if (!Enum.IsDefined(o.ReceiveMode))
        {
            errors.Add($"IoUringTransportOptions.ReceiveMode must be BufferRing or PollAndReceive; it is {(int)o.ReceiveMode}.");
        }

        IoUringTransportOptions.ParseKernelFeatures(o.DisabledKernelFeatures, out var unknownFeatures);
        if (unknownFeatures.Count > 0)
        {
            errors.Add($"IoUringTransportOptions.DisabledKernelFeatures names no kernel feature: {string.Join(", ", unknownFeatures)}. Known: All, {Interop.RingCapabilities.Describe(Interop.RingFeatures.All)}.");
        }

        if (o.Backlog < 1)
        {
            errors.Add($"IoUringTransportOptions.Backlog must be at least 1; it is {o.Backlog}.");
        }

        if (o.MaxReadBufferSize < 0)
        {
            errors.Add($"IoUringTransportOptions.MaxReadBufferSize must be null or at least 0; it is {o.MaxReadBufferSize}.");
        }

        if (o.MaxWriteBufferSize < 0)
        {
            errors.Add($"IoUringTransportOptions.MaxWriteBufferSize must be null or at least 0; it is {o.MaxWriteBufferSize}.");
        }

        return errors;
    }

    private static bool IsPowerOfTwoInRange(int value, int min, int max)
        => value >= min && value <= max && (value & (value - 1)) == 0;
}
