/**
 * A new TPM gets its certificates (SwtpmUnit.ts): `prepare --swtpm` writes swtpm_setup's
 * configuration, and the real `swtpm_setup` run with the arguments of the generated unit's
 * `ExecStartPre=` makes the TPM with RSA and ECC endorsement key certificates and a platform
 * certificate in its NVRAM, signed by the machine's own certificate authority in its state
 * directory; run again, it leaves that TPM as it is, as it leaves a TPM made before (without
 * certificates). Outside systemd: the built CLI on a host in a
 * temp dir (MACHINA_RUN_DIR), the unit's `/run/machina` read as that run directory. Under a real
 * systemd, with the swtpm unit hardened and run as the machine's user: test/e2e/Unprivileged.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { BUNDLE } from "../support/Bundle.js"

const haveSwtpm = ["swtpm", "swtpm_setup", "swtpm_localca"].every((p) => existsSync(`/usr/bin/${p}`))

describe.skipIf(!existsSync(BUNDLE) || !haveSwtpm)("swtpm_setup as the swtpm unit runs it", () => {
  let dir = ""
  const env = () => ({ ...process.env, MACHINA_CONFIG_DIR: join(dir, "etc"), MACHINA_RUN_DIR: join(dir, "run") })
  const machina = (args: ReadonlyArray<string>) => spawnSync(process.execPath, [BUNDLE, ...args], { encoding: "utf8", timeout: 60_000, env: env() })
  const state = () => join(dir, "tpm", "vault-state")

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "machina-swtpm-setup-"))
    mkdirSync(join(dir, "etc", "machine.conf.d"), { recursive: true })
    mkdirSync(join(dir, "run"))
    writeFileSync(
      join(dir, "etc", "machina.conf.json"),
      JSON.stringify({ storage: { tpm: { path: join(dir, "tpm"), pattern: "${machine-name}-${volume}", type: "tpm-data" } } })
    )
    writeFileSync(
      join(dir, "etc", "machine.conf.d", "vault.conf.json"),
      JSON.stringify({ attrs: { memory: { ram: 256 }, tpm: { enabled: true, data: { name: "state", storage: "tpm" } } } })
    )
  })
  afterAll(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true })
  })

  /** The swtpm unit's `ExecStartPre=swtpm_setup` as argv, its /run/machina read as our run directory. */
  const setupArgv = (): Array<string> => {
    const preview = machina(["generate", "--preview", "vault"])
    expect(preview.status, preview.stderr).toBe(0)
    const lines = preview.stdout.split("\n")
    const start = lines.indexOf("ExecStartPre=swtpm_setup \\")
    expect(start, preview.stdout).toBeGreaterThan(0)
    const words: Array<string> = []
    for (let i = start; ; i++) {
      const line = lines[i]!.replace(/^ExecStartPre=/, "")
      words.push(...line.replace(/ \\$/, "").split(" "))
      if (!line.endsWith(" \\")) break
    }
    // Plain paths here: no word of this unit line needs systemd's quoting.
    expect(words.join(" ")).not.toMatch(/["'\\]/)
    return words.map((w) => w.replace(/^\/run\/machina\//, `${join(dir, "run")}/`))
  }

  it("prepare --swtpm writes the configuration; swtpm_setup makes a TPM with certificates from the machine's own authority", { timeout: 120_000 }, () => {
    const prepared = machina(["prepare", "--swtpm", "vault"])
    expect(prepared.stderr).not.toContain("internal error")
    expect(prepared.stdout).toContain(`vault: TPM state in ${state()}\n`)
    expect(prepared.status, prepared.stderr).toBe(0)
    const setupDir = join(dir, "run", "vault", "swtpm")
    expect(readdirSync(setupDir).sort()).toEqual(["swtpm-localca.conf", "swtpm-localca.options", "swtpm_setup.conf"])
    expect(statSync(setupDir).mode & 0o777).toBe(0o700)
    expect(readFileSync(join(setupDir, "swtpm-localca.conf"), "utf8")).toBe(
      `statedir = ${state()}/authority\nsigningkey = ${state()}/authority/signkey.pem\n` +
        `issuercert = ${state()}/authority/issuercert.pem\ncertserial = ${state()}/authority/certserial\n`
    )

    const [program, ...args] = setupArgv()
    expect(program).toBe("swtpm_setup")
    expect(args).toEqual(expect.arrayContaining(["--create-ek-cert", "--create-platform-cert", "--lock-nvram", "--not-overwrite"]))
    const made = spawnSync(program!, args, { encoding: "utf8", timeout: 90_000 })
    const output = made.stdout + made.stderr
    expect(made.status, output).toBe(0)
    expect(output).toContain("Successfully created NVRAM area 0x1c00002 for RSA 2048 EK certificate.")
    expect(output).toContain("Successfully created NVRAM area 0x1c00016 for ECC EK certificate.")
    expect(output).toContain("Successfully created NVRAM area 0x1c08000 for platform certificate.")
    // Signed by the authority swtpm_localca made in the state directory, with the platform's fields.
    expect(output).toContain(`--configfile ${setupDir}/swtpm-localca.conf --optsfile ${setupDir}/swtpm-localca.options`)
    expect(readdirSync(join(state(), "authority"))).toEqual(expect.arrayContaining(["issuercert.pem", "signkey.pem", "certserial"]))
    expect(readdirSync(state())).toContain("tpm2-00.permall")

    // Run again (every start): the TPM and its authority are left as they are.
    const permall = readFileSync(join(state(), "tpm2-00.permall"))
    const serial = readFileSync(join(state(), "authority", "certserial"), "utf8")
    const again = spawnSync(program!, args, { encoding: "utf8", timeout: 90_000 })
    expect(again.status, again.stdout + again.stderr).toBe(0)
    expect(again.stdout + again.stderr).not.toContain("Invoking")
    expect(readFileSync(join(state(), "tpm2-00.permall")).equals(permall)).toBe(true)
    expect(readFileSync(join(state(), "authority", "certserial"), "utf8")).toBe(serial)
  })

  it("leaves a TPM made by an earlier machina (no certificates) exactly as it is", { timeout: 120_000 }, () => {
    rmSync(state(), { recursive: true, force: true })
    mkdirSync(state(), { recursive: true })
    // What the swtpm unit ran before: a TPM without certificates.
    const earlier = spawnSync("swtpm_setup", ["--tpm2", "--tpmstate", state(), "--not-overwrite"], { encoding: "utf8", timeout: 90_000 })
    expect(earlier.status, earlier.stdout + earlier.stderr).toBe(0)
    const permall = readFileSync(join(state(), "tpm2-00.permall"))
    expect(machina(["prepare", "--swtpm", "vault"]).status).toBe(0)
    const [program, ...args] = setupArgv()
    const now = spawnSync(program!, args, { encoding: "utf8", timeout: 90_000 })
    expect(now.status, now.stdout + now.stderr).toBe(0)
    expect(now.stdout + now.stderr).toContain("Not overwriting existing state file.")
    expect(readFileSync(join(state(), "tpm2-00.permall")).equals(permall)).toBe(true)
    expect(existsSync(join(state(), "authority"))).toBe(false)
  })
})
