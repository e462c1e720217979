/** The root `machina` command and its global options. */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Config from "effect/Config"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { parseDuration } from "../domain/Duration.js"

/** `--config-dir DIR` (or `MACHINA_CONFIG_DIR`): the configuration root, default `/etc/machina`. */
export const configDir = Options.text("config-dir").pipe(
  Options.withDescription("Configuration directory holding machina.conf.json and machine.conf.d/ (default /etc/machina)."),
  Options.withFallbackConfig(Config.string("MACHINA_CONFIG_DIR")),
  Options.optional
)

export const root = Command.make("machina", { configDir }).pipe(
  Command.withDescription("Manages kernel virtual machines via QEMU.")
)

/** `--format text|json`, shared by commands that print something a person might script. */
export const format = Options.choice("format", ["text", "json"]).pipe(
  Options.withDescription("Output format."),
  Options.withDefault("text" as const)
)

/** Parses a duration option value (Go `1m25s` or systemd `1min 25s` style). */
export const durationValue = (text: string): Effect.Effect<Duration.Duration, ValidationError.ValidationError> =>
  Either.match(parseDuration(text), {
    onLeft: (e) => Effect.fail(ValidationError.invalidValue(HelpDoc.p(e.message))),
    onRight: Effect.succeed
  })
