/**
 * `Mdev` simulated in memory, with the same rules as `MdevSysfs`: parents (PCI devices) offer
 * types with a number of available instances; `ensure` creates on the first candidate (by
 * address) offering a type of that name (or directory name), is a no-op for an existing device,
 * and fails naming what it searched; `remove` is idempotent. `MdevMemoryControl` inspects and
 * changes the simulated host.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import {
  isMdevId,
  isPciAddress,
  Mdev,
  MdevInvalidArgumentError,

  MdevUnsupportedError
} from "../services/Mdev.js"
import type { MdevOutcome, MdevRequest, MdevShape } from "../services/Mdev.js"
import { chooseParent, type ParentView } from "./MdevSearch.js"
import { traced } from "./Traced.js"

export interface SimulatedType {
  /** The type folder name, e.g. `nvidia-259`. */
  readonly dir: string
  /** The `name` file, e.g. `GRID T4-1Q`. Default: none. */
  readonly name?: string
  /** Instances that can still be created. Default 16. */
  readonly available?: number
}

export interface SimulatedParent {
  readonly address: string
  readonly types: ReadonlyArray<SimulatedType>
}

export interface SimulatedDevice {
  readonly id: string
  readonly address: string
  readonly type: string
}

export interface Options {
  readonly parents?: ReadonlyArray<SimulatedParent>
  readonly devices?: ReadonlyArray<SimulatedDevice>
  /** Whether the host has a PCI device tree at all. Default true. */
  readonly supported?: boolean
}

export interface MdevMemoryControlShape {
  /** Existing mediated devices, by id. */
  readonly devices: Effect.Effect<ReadonlyArray<SimulatedDevice>>
  /** Adds or replaces a parent. */
  readonly addParent: (parent: SimulatedParent) => Effect.Effect<void>
}

export class MdevMemoryControl extends Context.Tag("machina/MdevMemoryControl")<
  MdevMemoryControl,
  MdevMemoryControlShape
>() {}

const SIMULATED_ROOT = "/sys"

export const make = (
  options: Options = {}
): Effect.Effect<{ readonly mdev: MdevShape; readonly control: MdevMemoryControlShape }> =>
  Effect.sync(() => {
    const parents = new Map<string, Map<string, { name: string; available: number }>>()
    const addParent = (parent: SimulatedParent) =>
      parents.set(
        parent.address.toLowerCase(),
        new Map(parent.types.map((t) => [t.dir, { name: t.name ?? "", available: t.available ?? 16 }] as const))
      )
    for (const parent of options.parents ?? []) addParent(parent)
    const devices = new Map<string, SimulatedDevice>()
    for (const device of options.devices ?? []) devices.set(device.id.toLowerCase(), { ...device, id: device.id.toLowerCase() })
    const supported = options.supported ?? true

    const validId = (id: string) =>
      isMdevId(id) ? Effect.succeed(id.toLowerCase()) : Effect.fail(new MdevInvalidArgumentError({ field: "id", value: id }))

    const ensure = traced("Mdev.ensure")(function* (request: MdevRequest) {
      const id = yield* validId(request.id)
      for (const candidate of request.candidates) {
        if (!isPciAddress(candidate.address)) {
          return yield* new MdevInvalidArgumentError({ field: "PCI address", value: candidate.address })
        }
      }
      if (!supported) return yield* new MdevUnsupportedError({ path: `${SIMULATED_ROOT}/bus/pci/devices` })
      if (devices.has(id)) return { _tag: "Existing", id } satisfies MdevOutcome
      const chosen = yield* chooseParent(request, (address) => {
        const types = parents.get(address)
        return Effect.succeed<ParentView>(
          types === undefined
            ? { _tag: "Missing", path: `${SIMULATED_ROOT}/bus/pci/devices/${address}` }
            : {
              _tag: "Present",
              types: [...types.entries()].sort(([x], [y]) => x.localeCompare(y)).map(([dir, t]) => ({ dir, name: t.name, available: t.available > 0 }))
            }
        )
      })
      parents.get(chosen.address)!.get(chosen.type.dir)!.available -= 1
      devices.set(id, { id, address: chosen.address, type: chosen.type.dir })
      return { _tag: "Created", id, address: chosen.address, type: chosen.type.dir } satisfies MdevOutcome
    })

    const remove = traced("Mdev.remove")(function* (rawId: string) {
      const id = yield* validId(rawId)
      const device = devices.get(id)
      if (device === undefined) return false
      devices.delete(id)
      const type = parents.get(device.address)?.get(device.type)
      if (type !== undefined) type.available += 1
      return true
    })

    const control: MdevMemoryControlShape = {
      devices: Effect.sync(() => [...devices.values()].sort((a, b) => a.id.localeCompare(b.id))),
      addParent: (parent) => Effect.sync(() => void addParent(parent))
    }
    return { mdev: { ensure, remove }, control }
  })

/** The simulation as `Mdev` plus its `MdevMemoryControl`. */
export const layer = (options: Options = {}): Layer.Layer<Mdev | MdevMemoryControl> =>
  Layer.effectContext(
    Effect.map(make(options), ({ control, mdev }) => Context.make(Mdev, mdev).pipe(Context.add(MdevMemoryControl, control)))
  )
