/**
 * The unit files of one machine: its QEMU unit (`machina-<name>.service`) and, for a machine with
 * a software TPM, the swtpm unit it binds to. Unprivileged machines (`privileges.user`) get a
 * hardened QEMU unit whose writable paths are the machine's own files.
 *
 * Pure: no I/O.
 */
import type { Host } from "./ConfigFiles.js"
import type { Composed } from "./Merge.js"
import type { QemuOption } from "./qemu/Options.js"
import { machineFiles } from "./qemu/Pipeline.js"
import { machineSwtpmUnit } from "./SwtpmUnit.js"
import { renderMachineUnit, renderUnit, swtpmUnitName, unitName, type UnitPrivileges } from "./Unit.js"

export interface UnitFile {
  readonly name: string
  readonly content: string
}

/** How an unprivileged machine's QEMU runs, or undefined for root (no `privileges.user`). */
export const unitPrivilegesOf = (host: Host, composed: Composed): UnitPrivileges | undefined => {
  const { privileges } = composed.definition
  if (privileges.user === "") return undefined
  const writable: Array<string> = []
  for (const f of machineFiles(host, composed)) if (f.writable && !writable.includes(f.path)) writable.push(f.path)
  return { user: privileges.user, group: privileges.filesystem.group.id, writablePaths: writable }
}

/** The units of a machine, the QEMU unit first, then its swtpm unit when it has a TPM. */
export const machineUnitFiles = (
  host: Host,
  composed: Composed,
  options: ReadonlyArray<QemuOption>,
  executable?: string | undefined
): ReadonlyArray<UnitFile> => {
  const name = composed.machine.name
  const privileges = unitPrivilegesOf(host, composed)
  const swtpm = machineSwtpmUnit(host, composed, privileges, executable)
  const qemu = { name: unitName(name), content: renderMachineUnit({ name, options, privileges, swtpm: swtpm !== undefined, executable }) }
  return swtpm === undefined ? [qemu] : [qemu, { name: swtpmUnitName(name), content: renderUnit(swtpm) }]
}
