/** Unit names of machines: `machina-<name>.service` (systemd.md §1). */
export const UNIT_PREFIX = "machina-"
export const unitNameOf = (machine: string): string => `${UNIT_PREFIX}${machine}.service`
