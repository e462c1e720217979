/**
 * The parent search every Mdev implementation shares (cli.md §3.11, fixed): candidates in PCI
 * address order; on each, the first type whose `name` (else folder name) equals the configured
 * type name; a parent whose type has no available instances is skipped for the next one. Finding
 * nothing is an error listing what each candidate offered.
 */
import * as Effect from "effect/Effect"
import { type MdevCandidate, MdevClassNotFoundError, type MdevRequest } from "../services/Mdev.js"

/** A mediated-device type a parent offers. */
export interface OfferedType {
  /** The type's folder name, e.g. `nvidia-259`. */
  readonly dir: string
  /** The type's `name` file, e.g. `GRID T4-1Q` ("" when absent). */
  readonly name: string
  /** Whether another instance can be created. */
  readonly available: boolean
}

/** A candidate parent: missing (with the path looked at), or present with its types in folder order. */
export type ParentView =
  | { readonly _tag: "Missing"; readonly path: string }
  | { readonly _tag: "Present"; readonly types: ReadonlyArray<OfferedType> }

export const chooseParent = <E, R>(
  request: MdevRequest,
  inspect: (address: string) => Effect.Effect<ParentView, E, R>
): Effect.Effect<{ readonly address: string; readonly type: OfferedType }, E | MdevClassNotFoundError, R> =>
  Effect.gen(function*() {
    const searched: Array<string> = []
    const byAddress = (a: MdevCandidate, b: MdevCandidate) => a.address.toLowerCase().localeCompare(b.address.toLowerCase())
    for (const candidate of [...request.candidates].sort(byAddress)) {
      const address = candidate.address.toLowerCase()
      const wanted = JSON.stringify(candidate.typeName)
      if (candidate.typeName === "") {
        searched.push(`${address}: no type name configured`)
        continue
      }
      const parent = yield* inspect(address)
      if (parent._tag === "Missing") {
        searched.push(`${address}: no such device (${parent.path})`)
        continue
      }
      const type = parent.types.find((t) => t.name === candidate.typeName) ??
        parent.types.find((t) => t.dir === candidate.typeName)
      if (type === undefined) {
        const offered = parent.types.map((t) => JSON.stringify(t.name === "" ? t.dir : t.name))
        searched.push(`${address}: no type ${wanted} (offers ${offered.length === 0 ? "none" : offered.join(", ")})`)
        continue
      }
      if (!type.available) {
        searched.push(`${address}: type ${wanted} has no available instances`)
        continue
      }
      return { address, type }
    }
    return yield* new MdevClassNotFoundError({ deviceName: request.deviceName, deviceClass: request.deviceClass, searched })
  })
