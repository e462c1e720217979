/**
 * Keeps systemd units loaded while a test inspects them.
 *
 * systemd garbage-collects a unit once it is inactive and nothing references it; the sandbox boots
 * `basic.target`, so an enabled machine unit (wanted by the inactive `multi-user.target`) is
 * unreferenced and collected right after it stops. Its runtime state (`Result`, `ExecMainCode`,
 * `ExecMainStatus`, the exec status of `ExecStop`/`ExecStopPost`) is then gone, and `systemctl
 * show` reports a freshly loaded unit's defaults (`Result=success`, `ExecMainCode=0`), which would
 * prove nothing. `org.freedesktop.systemd1.Unit.Ref()` pins a unit for as long as the calling bus
 * connection stays open, which is exactly what a test needs; nothing about the unit changes.
 */
import dbus from "dbus-next"

const DESTINATION = "org.freedesktop.systemd1"

export interface UnitPins {
  /** Drops the references (closes the bus connection). Idempotent. */
  readonly release: () => void
}

/** Pins `units` (full names, e.g. `machina-alpha.service`) on the system bus at `busAddress`. */
export const pinUnits = async (busAddress: string, units: ReadonlyArray<string>): Promise<UnitPins> => {
  const bus = dbus.sessionBus({ busAddress })
  // A sandbox that goes away while the connection is open must not crash the test process.
  bus.on("error", () => {})
  let released = false
  const release = () => {
    if (released) return
    released = true
    bus.disconnect()
  }
  const call = async (path: string, iface: string, member: string, signature = "", body: Array<unknown> = []) => {
    const reply = await bus.call(new dbus.Message({ destination: DESTINATION, path, interface: iface, member, signature, body }))
    return reply?.body ?? []
  }
  try {
    for (const unit of units) {
      const [path] = await call("/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "LoadUnit", "s", [unit])
      await call(String(path), "org.freedesktop.systemd1.Unit", "Ref")
    }
  } catch (error) {
    release()
    throw error
  }
  return { release }
}
