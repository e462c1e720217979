/**
 * `Mdev` over sysfs files under a configurable root (default `/sys`), cli.md §3.11/§3.12 with the
 * gaps fixed: no parent/type offering the class is an error naming what was searched; a missing
 * `mdev_supported_types` folder just means "no types here"; errors name their paths; ids and PCI
 * addresses are validated before they become path segments, and every write is checked to stay
 * under the root.
 *
 * Layout used:
 *   <root>/bus/pci/devices/<address>/mdev_supported_types/<type-dir>/{name,description,create}
 *   <root>/bus/mdev/devices/<id>/remove
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import {
  isMdevId,
  isPciAddress,
  Mdev,
  MdevInvalidArgumentError,
  MdevSysfsError,
  MdevUnsupportedError
} from "../services/Mdev.js"
import type { MdevOutcome, MdevRequest, MdevShape } from "../services/Mdev.js"
import { chooseParent, type OfferedType, type ParentView } from "./MdevSearch.js"
import { traced } from "./Traced.js"

export interface Options {
  /** The sysfs root. Default `/sys`. */
  readonly root?: string
}

const errnoOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

export const make = (options: Options = {}): Effect.Effect<MdevShape> =>
  Effect.sync(() => {
    const root = path.resolve(options.root ?? "/sys")
    const pciDevices = path.join(root, "bus", "pci", "devices")
    const mdevDevices = path.join(root, "bus", "mdev", "devices")

    const sysfsError = (operation: string, file: string, cause: unknown) =>
      new MdevSysfsError({ operation, path: file, detail: describe(cause), cause })

    /** `stat` (following symlinks, as sysfs device links need); None when the path does not exist. */
    const kind = (file: string) =>
      Effect.tryPromise({
        try: () => fs.stat(file).then((s) => (s.isDirectory() ? ("directory" as const) : ("other" as const))),
        catch: (cause) => cause
      }).pipe(
        Effect.catchAll((cause) =>
          errnoOf(cause) === "ENOENT" || errnoOf(cause) === "ENOTDIR"
            ? Effect.succeed("missing" as const)
            : Effect.fail(sysfsError("inspect", file, cause))
        )
      )

    const readTrimmed = (file: string) =>
      Effect.tryPromise({ try: () => fs.readFile(file, "utf8"), catch: (cause) => cause }).pipe(
        Effect.map((text) => text.trim()),
        Effect.catchAll((cause) =>
          errnoOf(cause) === "ENOENT" ? Effect.succeed("") : Effect.fail(sysfsError("read", file, cause))
        )
      )

    /** Writes to an existing sysfs attribute (no create: a missing attribute means no support). */
    const writeAttribute = (file: string, content: string) =>
      Effect.gen(function* () {
        const relative = path.relative(root, file)
        if (relative.startsWith("..") || path.isAbsolute(relative)) {
          return yield* new MdevSysfsError({ operation: "write", path: file, detail: `outside the sysfs root ${root}` })
        }
        yield* Effect.tryPromise({
          try: async () => {
            const handle = await fs.open(file, fs.constants.O_WRONLY | fs.constants.O_TRUNC)
            try {
              await handle.write(content)
            } finally {
              await handle.close()
            }
          },
          catch: (cause) => sysfsError("write", file, cause)
        })
      })

    const validId = (id: string) =>
      isMdevId(id) ? Effect.succeed(id.toLowerCase()) : Effect.fail(new MdevInvalidArgumentError({ field: "id", value: id }))

    /** The type folders offered by a parent, in name order, with their `name` files. */
    const supportedTypes = (parent: string) =>
      Effect.gen(function* () {
        const typesDir = path.join(parent, "mdev_supported_types")
        const entries = yield* Effect.tryPromise({
          try: () => fs.readdir(typesDir),
          catch: (cause) => cause
        }).pipe(
          Effect.catchAll((cause) =>
            errnoOf(cause) === "ENOENT" ? Effect.succeed([] as Array<string>) : Effect.fail(sysfsError("list", typesDir, cause))
          )
        )
        const types: Array<OfferedType> = []
        for (const entry of [...entries].sort()) {
          const dir = path.join(typesDir, entry)
          if ((yield* kind(dir)) !== "directory") continue
          // `available_instances` of "0" means the type is used up on this parent; absent = unknown.
          const available = (yield* readTrimmed(path.join(dir, "available_instances"))) !== "0"
          types.push({ dir: entry, name: yield* readTrimmed(path.join(dir, "name")), available })
        }
        return types
      })

    const ensure = traced("Mdev.ensure")(function* (request: MdevRequest) {
      const id = yield* validId(request.id)
      for (const candidate of request.candidates) {
        if (!isPciAddress(candidate.address)) {
          return yield* new MdevInvalidArgumentError({ field: "PCI address", value: candidate.address })
        }
      }
      if ((yield* kind(pciDevices)) !== "directory") return yield* new MdevUnsupportedError({ path: pciDevices })

      const existing = path.join(mdevDevices, id)
      const existingKind = yield* kind(existing)
      if (existingKind === "directory") return { _tag: "Existing", id } satisfies MdevOutcome
      if (existingKind === "other") {
        return yield* new MdevSysfsError({ operation: "inspect", path: existing, detail: "not a directory" })
      }

      const chosen = yield* chooseParent(request, (address) =>
        Effect.gen(function* () {
          const parent = path.join(pciDevices, address)
          const parentKind = yield* kind(parent)
          if (parentKind === "missing") return { _tag: "Missing", path: parent } satisfies ParentView
          if (parentKind === "other") {
            return yield* new MdevSysfsError({ operation: "open", path: parent, detail: "not a directory" })
          }
          return { _tag: "Present", types: yield* supportedTypes(parent) } satisfies ParentView
        })
      )
      yield* writeAttribute(path.join(pciDevices, chosen.address, "mdev_supported_types", chosen.type.dir, "create"), id)
      return { _tag: "Created", id, address: chosen.address, type: chosen.type.dir } satisfies MdevOutcome
    })

    const remove = traced("Mdev.remove")(function* (rawId: string) {
      const id = yield* validId(rawId)
      const device = path.join(mdevDevices, id)
      const deviceKind = yield* kind(device)
      if (deviceKind === "missing") return false
      if (deviceKind === "other") {
        return yield* new MdevSysfsError({ operation: "inspect", path: device, detail: "not a directory" })
      }
      yield* writeAttribute(path.join(device, "remove"), "1")
      return true
    })

    return { ensure, remove } satisfies MdevShape
  })

export const layer = (options: Options = {}): Layer.Layer<Mdev> => Layer.effect(Mdev, make(options))
