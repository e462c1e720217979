/**
 * Host-side resources of a VM (qemu.md §5): I/O threads, the block node graph, character
 * devices, TPM backends and network backends, each kept in insertion order.
 *
 * Deviations from the original (qemu.md §11), all fixes:
 * - Block node names are checked against QEMU's rules (start with a letter; letters, digits,
 *   `-`, `.`, `_`; at most 31 characters): the original passed anything and QEMU refused to start.
 * - The raw format node is `read-only=on` when its file node is (read-only pool): QEMU refuses a
 *   writable format node on a read-only protocol node.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { flag, option, type Parameter, param, type QemuOption } from "./Options.js"
import { LazyTaggedError } from "../LazyTaggedError.js"

// ---------------------------------------------------------------------------------------------
// Errors

/** QEMU's longest node name (`BlockDriverState.node_name` holds 32 bytes with the terminator). */
export const MAX_NODE_NAME_LENGTH = 31

/** A node name QEMU would refuse. */
export class BlockNodeNameInvalidError extends LazyTaggedError<BlockNodeNameInvalidError>()(
  "BlockNodeNameInvalidError",
  { nodeName: Schema.String, problem: Schema.String }
) {
  override get message(): string {
    return `QEMU block node name ${JSON.stringify(this.nodeName)} ${this.problem}`
  }
}

/** Two block nodes with one name (e.g. an ISO volume named like `<machine>-<raw volume>`). */
export class BlockNodeConflictError extends LazyTaggedError<BlockNodeConflictError>()("BlockNodeConflictError", {
  nodeName: Schema.String,
  kind: Schema.Literal("file protocol", "raw format")
}) {
  override get message(): string {
    return `failed to attach the "${this.nodeName}" ${this.kind} node to the node graph: a node with the given node name already exists`
  }
}

/** A file protocol node without a file name. */
export class BlockNodeEmptyPathError extends LazyTaggedError<BlockNodeEmptyPathError>()("BlockNodeEmptyPathError", {
  nodeName: Schema.String
}) {
  override get message(): string {
    return `an empty path was provided when creating the "${this.nodeName}" file protocol node`
  }
}

export type BlockNodeError = BlockNodeNameInvalidError | BlockNodeConflictError | BlockNodeEmptyPathError

const STARTS_WITH_LETTER = /^[A-Za-z]/
const NODE_NAME_CHARS = /^[A-Za-z0-9_.-]*$/

/** What is wrong with a node name for QEMU, or undefined. */
export const nodeNameProblem = (name: string): string | undefined => {
  if (name.length > MAX_NODE_NAME_LENGTH) {
    return `is ${name.length} characters long; QEMU allows at most ${MAX_NODE_NAME_LENGTH} (shorten the machine or volume name)`
  }
  if (!STARTS_WITH_LETTER.test(name)) return "must start with a letter"
  if (!NODE_NAME_CHARS.test(name)) return "may only contain letters, digits, '-', '.' and '_'"
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Character devices (qemu.md §5.2)

/** A unix socket chardev: `socket,id=<id>[,server=on,wait=off],path=<p>`. */
export const unixSocketChardev = (id: string, path: string, server: boolean): ReadonlyArray<Parameter> =>
  server
    ? [flag("socket"), param("id", id), param("server", "on"), param("wait", "off"), param("path", path)]
    : [flag("socket"), param("id", id), param("path", path)]

/** A listening TCP chardev: `socket,id=<id>,host=<h>,port=<p>,server=on,wait=off,nodelay=on`. */
export const tcpServerChardev = (id: string, host: string, port: number): ReadonlyArray<Parameter> => [
  flag("socket"),
  param("id", id),
  param("host", host),
  param("port", port),
  param("server", "on"),
  param("wait", "off"),
  param("nodelay", "on")
]

/** A SPICE channel chardev: `spicevmc,id=<id>,debug=0,name=<channel>`. */
export const spiceChardev = (id: string, channel: string): ReadonlyArray<Parameter> => [
  flag("spicevmc"),
  param("id", id),
  param("debug", 0),
  param("name", channel)
]

// ---------------------------------------------------------------------------------------------
// The collections

/** `driver=<driver>,node-name=<n>[,read-only=on],<child>`. */
const blockNode = (driver: string, nodeName: string, readOnly: boolean, child: Parameter): ReadonlyArray<Parameter> =>
  readOnly
    ? [param("driver", driver), param("node-name", nodeName), param("read-only", "on"), child]
    : [param("driver", driver), param("node-name", nodeName), child]

export class HostResources {
  private readonly iothreads: Array<string> = []
  private readonly blockNodes: Array<ReadonlyArray<Parameter>> = []
  private readonly nodeNames = new Set<string>()
  private readonly chardevs: Array<ReadonlyArray<Parameter>> = []
  private readonly tpmdevs: Array<ReadonlyArray<Parameter>> = []
  private readonly netdevs: Array<ReadonlyArray<Parameter>> = []

  /** The most recently created I/O thread, creating `iothread.0` the first time (qemu.md §6). */
  iothread(): string {
    const last = this.iothreads[this.iothreads.length - 1]
    if (last !== undefined) return last
    const id = `iothread.${this.iothreads.length}`
    this.iothreads.push(id)
    return id
  }

  private claim(nodeName: string, kind: BlockNodeConflictError["kind"]): Either.Either<void, BlockNodeError> {
    const problem = nodeNameProblem(nodeName)
    if (problem !== undefined) return Either.left(new BlockNodeNameInvalidError({ nodeName, problem }))
    if (this.nodeNames.has(nodeName)) return Either.left(new BlockNodeConflictError({ nodeName, kind }))
    this.nodeNames.add(nodeName)
    return Either.void
  }

  /** `driver=file,node-name=<n>[,read-only=on],filename=<path>`. */
  addFileNode(nodeName: string, filename: string, readOnly: boolean): Either.Either<string, BlockNodeError> {
    if (filename === "") return Either.left(new BlockNodeEmptyPathError({ nodeName }))
    const claimed = this.claim(nodeName, "file protocol")
    if (Either.isLeft(claimed)) return Either.left(claimed.left)
    this.blockNodes.push(blockNode("file", nodeName, readOnly, param("filename", filename)))
    return Either.right(nodeName)
  }

  /** `driver=raw,node-name=<n>[,read-only=on],file=<child>`. */
  addRawNode(nodeName: string, file: string, readOnly: boolean): Either.Either<string, BlockNodeError> {
    const claimed = this.claim(nodeName, "raw format")
    if (Either.isLeft(claimed)) return Either.left(claimed.left)
    this.blockNodes.push(blockNode("raw", nodeName, readOnly, param("file", file)))
    return Either.right(nodeName)
  }

  addChardev(params: ReadonlyArray<Parameter>): void {
    this.chardevs.push(params)
  }

  addTpmdev(params: ReadonlyArray<Parameter>): void {
    this.tpmdevs.push(params)
  }

  addNetdev(params: ReadonlyArray<Parameter>): void {
    this.netdevs.push(params)
  }

  /** `-object iothread`, `-blockdev`, `-chardev`, `-tpmdev`, `-netdev`, in that order (qemu.md §3). */
  options(): ReadonlyArray<QemuOption> {
    const out: Array<QemuOption> = []
    for (const id of this.iothreads) out.push(option("object", [flag("iothread"), param("id", id)]))
    for (const p of this.blockNodes) out.push(option("blockdev", p))
    for (const p of this.chardevs) out.push(option("chardev", p))
    for (const p of this.tpmdevs) out.push(option("tpmdev", p))
    for (const p of this.netdevs) out.push(option("netdev", p))
    return out
  }
}
