import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { swtpmPathProblem, swtpmSetupFiles } from "../../src/domain/TpmState.js"

describe("swtpm's paths (TpmState.ts)", () => {
  it("refuses what swtpm's options and key = value files cannot carry, and nothing else", () => {
    for (const bad of ["/srv/tpm/a,b", "/srv/tpm/a#b", "/srv/tpm/${HOME}", "/srv/tpm/$x", "/srv/tpm/a\nb", "/srv/tpm/a\rb", " /srv/tpm/a", "/srv/tpm/a "]) {
      expect(swtpmPathProblem(bad), JSON.stringify(bad)).toBeDefined()
    }
    for (const good of ["/var/lib/machina/swtpm/win11", "/srv/tpm/with space", "/srv/tpm/ünïcode-ok_1.2=3+4@5"]) {
      expect(swtpmPathProblem(good), good).toBeUndefined()
    }
  })

  it("writes swtpm_setup's and swtpm_localca's configuration, one `key = value` per line", () => {
    const files = swtpmSetupFiles({ dir: "/run/machina/vm/swtpm", authority: "/srv/tpm/vm/authority", localca: "/usr/bin/swtpm_localca" })
    expect(Either.getOrThrow(files)).toEqual([
      {
        name: "swtpm_setup.conf",
        content: "create_certs_tool = /usr/bin/swtpm_localca\n" +
          "create_certs_tool_config = /run/machina/vm/swtpm/swtpm-localca.conf\n" +
          "create_certs_tool_options = /run/machina/vm/swtpm/swtpm-localca.options\n" +
          "active_pcr_banks = sha256\n"
      },
      {
        name: "swtpm-localca.conf",
        content: "statedir = /srv/tpm/vm/authority\n" +
          "signingkey = /srv/tpm/vm/authority/signkey.pem\n" +
          "issuercert = /srv/tpm/vm/authority/issuercert.pem\n" +
          "certserial = /srv/tpm/vm/authority/certserial\n"
      },
      { name: "swtpm-localca.options", content: "--platform-manufacturer machina\n--platform-version 0.1\n--platform-model QEMU\n" }
    ])
    const refused = swtpmSetupFiles({ dir: "/run/machina/vm/swtpm", authority: "/srv/tpm/#1/authority", localca: "/usr/bin/swtpm_localca" })
    expect(Either.isLeft(refused) && refused.left).toContain("\"/srv/tpm/#1/authority\" cannot be given to swtpm: it has \"#\"")
  })
})
