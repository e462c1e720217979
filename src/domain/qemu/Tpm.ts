/**
 * The emulated TPM (qemu.md §4.9): a client socket chardev to an swtpm that something else
 * starts, the `emulator` backend on it, and a `tpm-tis` device that takes a topology index but
 * no PCI address.
 *
 * Deviation from the original (qemu.md §11.2, fixed): the backend is `emulator`, the only name
 * QEMU knows; the original wrote `emulated` and QEMU refused to start.
 */
import { flag, type Parameter, param } from "./Options.js"
import { type GuestDevice, leafDevice } from "./Topology.js"

export const TPM_ID = "tpm.0"
export const TPM_CHARDEV_ID = "tpm.0.socket"
export const TPM_BACKEND = "emulator"

/** `emulator,id=tpm.0,chardev=tpm.0.socket`. */
export const tpmBackend: ReadonlyArray<Parameter> = [flag(TPM_BACKEND), param("id", TPM_ID), param("chardev", TPM_CHARDEV_ID)]

/** `tpm-tis,tpmdev=tpm.0`. */
export const tpmDevice: GuestDevice = leafDevice("tpm-tis", [param("tpmdev", TPM_ID)])
