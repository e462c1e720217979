/**
 * `Effect.fn(name)` for the services' operations, without the call-site stack trace: a span that
 * ends in failure formats the stack captured at its call for a `code.stacktrace` attribute. No
 * tracer reads it here, and the first stack formatted in a process costs 1-2 ms: `shutdown
 * --system` of a stopped machine paid it for the failed `Qmp.connect` that tells it so. The span
 * (its name in traces and in the causes Effect prints) stays.
 */
import * as Effect from "effect/Effect"

export const traced = (name: string): Effect.fn.Gen & Effect.fn.NonGen => Effect.fn(name, { captureStackTrace: false })
