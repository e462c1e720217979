import { assert, describe, it } from "@effect/vitest"
import { vi } from "vitest"
import * as Either from "effect/Either"
import {
  base32HexNoPad,
  deriveDeviceId,
  deriveGroupId,
  deriveMac,
  deriveSerial,
  deriveWwn,
  groupName,
  makeSeed,
  randomMac,
  resolveTapName,
  seededBytes,
  tapName,
  tapNameCollisions
} from "../../src/domain/Identity.js"
import type { Seed } from "../../src/domain/Identity.js"
import { formatUuid, parseUuid, ZERO_UUID } from "../../src/domain/Uuid.js"
import { formatWwn } from "../../src/domain/Wwn.js"

const uuid = (text: string) => Either.getOrThrow(parseUuid(text))
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

const TEST_VM = makeSeed(uuid("8b18191a-234f-45ce-b43c-b46e28cd2f70"), "test-vm")
const ALPHA = makeSeed(uuid("00000000-0000-0000-0000-000000000001"), "alpha")
const ZERO = makeSeed(ZERO_UUID, "zero")
const VM1961 = makeSeed(uuid("00000000-0000-0000-0000-000000000001"), "vm1961")

describe("the seeded hash (identity.md §1)", () => {
  it("seed bytes: id, 8-byte big-endian name length, name", () => {
    assert.strictEqual(hex(TEST_VM.bytes), "8b18191a234f45ceb43cb46e28cd2f70" + "0000000000000007" + "746573742d766d")
  })
  it("worked input: first 16 output bytes of connection/hardware-addr/0", () => {
    assert.strictEqual(hex(seededBytes(TEST_VM, ["connection", "hardware-addr", "0"], 16)), "b0250a2677fa1b1142ee33a5d7c65e38")
  })
  it("components may be given as bytes", () => {
    const bytes = new TextEncoder().encode("hardware-addr")
    assert.strictEqual(hex(seededBytes(TEST_VM, ["connection", bytes, "0"], 6)), "b0250a2677fa")
  })
  it("a missing id is 16 zero bytes", () => {
    assert.strictEqual(hex(ZERO.bytes.subarray(0, 16)), "00".repeat(16))
  })
  it("rejects an id that is not 16 bytes (a bug, so a defect)", () => {
    assert.throws(() => makeSeed(new Uint8Array(15), "x"))
  })
})

type Row = readonly [what: string, seed: Seed, components: ReadonlyArray<string>, raw: string, result: () => string]

const macRow = (seed: Seed, connection: string, raw: string, mac: string): Row => [
  `MAC, connection ${connection} = ${mac}`,
  seed,
  ["connection", "hardware-addr", connection],
  raw,
  () => {
    assert.strictEqual(deriveMac(seed, connection), mac)
    return mac
  }
]
const wwnRow = (seed: Seed, volume: string, raw: string, wwn: string): Row => [
  `WWN, volume ${volume} = ${wwn}`,
  seed,
  ["volume", "wwn", volume],
  raw,
  () => {
    assert.strictEqual(formatWwn(deriveWwn(seed, volume)), wwn)
    return wwn
  }
]
const serialRow = (seed: Seed, volume: string, raw: string, serial: string): Row => [
  `serial, volume ${volume} = ${serial}`,
  seed,
  ["volume", "serial-number", volume],
  raw,
  () => {
    assert.strictEqual(deriveSerial(seed, volume), serial)
    return serial
  }
]
const deviceRow = (seed: Seed, deviceClass: string, name: string, raw: string, id: string): Row => [
  `device id, class ${deviceClass}, name ${name} = ${id}`,
  seed,
  ["device", "id", deviceClass, name],
  raw,
  () => {
    assert.strictEqual(formatUuid(deriveDeviceId(seed, deviceClass, name)), id)
    return id
  }
]

const vectors: ReadonlyArray<readonly [string, ReadonlyArray<Row>]> = [
  [
    "§3.1 machine test-vm, id 8b18191a-234f-45ce-b43c-b46e28cd2f70",
    [
      macRow(TEST_VM, "0", "b0250a2677fa", "52:54:00:26:77:fa"),
      macRow(TEST_VM, "1", "fe274a13cfa8", "52:54:00:13:cf:a8"),
      macRow(TEST_VM, "lan", "d2283ee9a47e", "52:54:00:e9:a4:7e"),
      macRow(TEST_VM, "wan", "72c733199c6e", "52:54:00:19:9c:6e"),
      wwnRow(TEST_VM, "os", "2a21e79908fe6258", "0x5525400908FE6258"),
      serialRow(TEST_VM, "os", "4cb44cfbe646b0cbf04c39714f700491", "9IQ4PUV68QOCNS2C75OKUS04I4"),
      wwnRow(TEST_VM, "virtio-win-latest", "ad2ec0d982db87ce", "0x5525400982DB87CE"),
      serialRow(TEST_VM, "virtio-win-latest", "9abf39ff38c67b2f9c78bb98e203ef69", "JAVJJVPOOPTIV73ONECE40VFD4"),
      wwnRow(TEST_VM, "win10", "6d9cc2df7c2ed5d0", "0x5525400F7C2ED5D0"),
      serialRow(TEST_VM, "win10", "07c276a5b123bfd4f1f867d2c7f7605d", "0V17D9DH4EVT9SFOCV9CFTR0BK"),
      wwnRow(TEST_VM, "data", "808468baf7942ff7", "0x5525400AF7942FF7"),
      serialRow(TEST_VM, "data", "a724db203fa3315a6724656191a19e94", "KSIDM81VKCOLKPP4CLGP38CUIG"),
      wwnRow(TEST_VM, "firmware", "0af5735fb853d2a5", "0x5525400FB853D2A5"),
      serialRow(TEST_VM, "firmware", "d30c3d8837895f45574a21c0114e265c", "QC63R21NH5FKALQA47012JH6BG"),
      deviceRow(TEST_VM, "cad-standard", "vgpu", "3e2cee4d1002f9892f983e03b8ad3197", "3e2cee4d-1002-4989-af98-3e03b8ad3197"),
      deviceRow(TEST_VM, "cad-standard", "vgpu2", "7d2f40a1491c72a6f1d1f1b2ad215d05", "7d2f40a1-491c-42a6-b1d1-f1b2ad215d05"),
      deviceRow(TEST_VM, "cad-light", "vgpu", "d8e62a4d9369486daa6e71d0e49e5ce0", "d8e62a4d-9369-486d-aa6e-71d0e49e5ce0")
    ]
  ],
  [
    "§3.2 machine alpha, id 00000000-0000-0000-0000-000000000001",
    [
      macRow(ALPHA, "0", "1d38a57f691f", "52:54:00:7f:69:1f"),
      macRow(ALPHA, "1", "bbcb99b5fa77", "52:54:00:b5:fa:77"),
      macRow(ALPHA, "lan", "2b111d80484a", "52:54:00:80:48:4a"),
      wwnRow(ALPHA, "os", "94ec0b4c18104e5b", "0x5525400C18104E5B"),
      serialRow(ALPHA, "os", "d41fe66ec3e48907b6e463a175abb9b7", "QGFUCRM3SI4GFDN4CEGNBATPMS"),
      wwnRow(ALPHA, "data", "0cfb9bd7794d2742", "0x55254007794D2742"),
      serialRow(ALPHA, "data", "bf4af14de9c96cbf37c9b4d93d5c8659", "NT5F2JF9P5MBUDU9MJCJQN46B4"),
      deviceRow(ALPHA, "gpu", "vgpu", "f106c3ab97473277a3a71142189b8cf3", "f106c3ab-9747-4277-a3a7-1142189b8cf3")
    ]
  ],
  [
    "§3.3 machine zero, no id",
    [
      macRow(ZERO, "0", "5400aa642af2", "52:54:00:64:2a:f2"),
      wwnRow(ZERO, "os", "f9fa44f2874eff51", "0x55254002874EFF51"),
      serialRow(ZERO, "os", "95fb37b4503c98e2913a129897bd9dc2", "INTJFD2G7ICE549Q2AC9FFCTO8"),
      deviceRow(ZERO, "c", "d", "bbca0c282bca3ed513feea1644b1f34d", "bbca0c28-2bca-4ed5-93fe-ea1644b1f34d")
    ]
  ]
]

for (const [title, rows] of vectors) {
  describe(`known answers ${title}`, () => {
    for (const [what, seed, components, raw, check] of rows) {
      it(`raw XOF bytes for ${what}`, () => {
        assert.strictEqual(hex(seededBytes(seed, components, raw.length / 2)), raw)
      })
      it(what, () => {
        check()
      })
    }
  })
}

describe("group id and name (identity.md §2.5, §3)", () => {
  const groupRows: ReadonlyArray<readonly [string, Seed, string, number]> = [
    ["test-vm", TEST_VM, "9a08a270", 2584257136],
    ["alpha", ALPHA, "c752c7b2", 3344091058],
    ["zero", ZERO, "762fd3b4", 1982845876],
    ["vm1961 (second round)", VM1961, "00008e2af08273f0", 4035081200]
  ]
  for (const [name, seed, raw, id] of groupRows) {
    it(`raw stream of ${name} starts ${raw}`, () => {
      assert.strictEqual(hex(seededBytes(seed, ["privilege", "file-system", "group-id", new Uint8Array(8)], raw.length / 2)), raw)
    })
    it(`group id of ${name} = ${id}`, () => {
      assert.deepStrictEqual(deriveGroupId(seed), Either.right(id))
    })
  }
  it("vm1961: the first word 0x00008e2a = 36394 is rejected", () => {
    assert.strictEqual(0x00008e2a, 36394)
    assert.isTrue(Either.isLeft(deriveGroupId(VM1961, 1)))
    assert.deepStrictEqual(deriveGroupId(VM1961, 2), Either.right(4035081200))
  })
  it("gives up with a typed error after maxReads words", () => {
    const result = deriveGroupId(VM1961, 1)
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) {
      assert.strictEqual(result.left._tag, "GroupIdExhaustedError")
      assert.strictEqual(result.left.reads, 1)
      assert.strictEqual(result.left.message, "no file-system group id >= 65536 found in 1 reads of the identity stream")
    }
  })
  it("reading past the first chunk agrees with reading everything at once", () => {
    // Same answer whether the search stops in the first chunk or needs the full stream.
    assert.deepStrictEqual(deriveGroupId(TEST_VM, 4096), deriveGroupId(TEST_VM, 17))
  })
  it("group name of test-vm = machina-test-vm", () => assert.strictEqual(groupName("test-vm"), "machina-test-vm"))
})

describe("base32hex", () => {
  const rows: ReadonlyArray<readonly [string, string]> = [
    ["", ""],
    ["f", "CO"],
    ["fo", "CPNG"],
    ["foo", "CPNMU"],
    ["foob", "CPNMUOG"],
    ["fooba", "CPNMUOJ1"],
    ["foobar", "CPNMUOJ1E8"]
  ]
  for (const [input, output] of rows) {
    it(`RFC 4648 §10 vector ${JSON.stringify(input)} without padding`, () => {
      assert.strictEqual(base32HexNoPad(new TextEncoder().encode(input)), output)
    })
  }
})

describe("randomMac (identity.md §5.2)", () => {
  it("has the 52:54:00 prefix and six lowercase pairs", () => {
    assert.match(randomMac(), /^52:54:00(:[0-9a-f]{2}){3}$/)
  })
})

describe("tap names (identity.md §5.1)", () => {
  it("test-vm.0 is used as is", () => assert.strictEqual(tapName("test-vm", "0"), "test-vm.0"))
  it("a-very-long-machine.0 (21 bytes) = cgKrIZT5wCWSejU", () => {
    assert.strictEqual(tapName("a-very-long-machine", "0"), "cgKrIZT5wCWSejU")
  })
  it("windows-server-2022.lan (23 bytes) = NgfS08P3G9mwlNA", () => {
    assert.strictEqual(tapName("windows-server-2022", "lan"), "NgfS08P3G9mwlNA")
  })
  it("15 bytes exactly is kept", () => assert.strictEqual(tapName("abcdefghijklm", "0"), "abcdefghijklm.0"))
  it("16 bytes is hashed to 15 base64url chars", () => {
    assert.match(tapName("abcdefghijklmn", "0"), /^[A-Za-z0-9_-]{15}$/)
  })
  it("removes /, whitespace and non-printables from short names", () => {
    assert.strictEqual(tapName("a b", "c/d"), "ab.cd")
    assert.strictEqual(tapName("a\tb\u0007", "\u00a0x"), "ab.x")
  })
  it("checks the length before removing characters", () => {
    // 17 bytes with spaces: hashed although it would be 11 bytes once cleaned.
    assert.strictEqual(tapName("a b c d e f g", "x y"), "LG_iE3xvNGdroe8")
    assert.match(tapName("a b c d e f g", "x y"), /^[A-Za-z0-9_-]{15}$/)
    // 15 bytes with spaces: kept and cleaned.
    assert.strictEqual(tapName("a b c d e f", "x y"), "abcdef.xy")
  })
  it("counts bytes, not characters", () => {
    assert.strictEqual(tapName("ééééééé", "0"), tapName("ééééééé", "0")) // deterministic
    assert.notStrictEqual(tapName("ééééééé", "0"), "ééééééé.0") // 16 bytes: hashed
    assert.strictEqual(tapName("éééééé", "0"), "éééééé.0") // 14 bytes: kept
  })
  it("resolveTapName finds the connection of a short and of a hashed name", () => {
    const candidates = [
      { machine: "test-vm", connection: "0" },
      { machine: "windows-server-2022", connection: "lan" },
      { machine: "a-very-long-machine", connection: "0" }
    ]
    assert.deepStrictEqual(resolveTapName("test-vm.0", candidates), [candidates[0]])
    assert.deepStrictEqual(resolveTapName("NgfS08P3G9mwlNA", candidates), [candidates[1]])
    assert.deepStrictEqual(resolveTapName("nothing", candidates), [])
  })
  it("resolveTapName returns every match so callers see ambiguity", () => {
    const candidates = [
      { machine: "a b", connection: "0" },
      { machine: "ab", connection: "0" },
      { machine: "x", connection: "1" }
    ]
    assert.deepStrictEqual(resolveTapName("ab.0", candidates), [candidates[0], candidates[1]])
  })
  it("tapNameCollisions groups candidates sharing a tap name", () => {
    const candidates = [
      { machine: "a b", connection: "0" },
      { machine: "x", connection: "1" },
      { machine: "ab", connection: "0" },
      { machine: "a/b", connection: "0" }
    ]
    assert.deepStrictEqual(tapNameCollisions(candidates), [
      { tap: "ab.0", candidates: [candidates[0], candidates[2], candidates[3]] }
    ])
    assert.deepStrictEqual(tapNameCollisions(candidates.slice(0, 2)), [])
  })
})

describe("the hashes before and after node:crypto takes over", () => {
  it("a fresh process's first hashes (JavaScript) and later ones (node:crypto) give the same identifiers", async () => {
    vi.resetModules()
    const fresh = await import("../../src/domain/Identity.js")
    const seed = fresh.makeSeed(ZERO_UUID, "vm")
    // 100 hashes of each kind: the first few of the fresh module are computed in JavaScript.
    const names = Array.from({ length: 50 }, (_, i) => `a-machine-with-a-long-name-${i}`)
    const first = [...names.map((n) => fresh.tapName(n, "0")), ...names.map((n) => fresh.deriveMac(seed, n))]
    const again = [...names.map((n) => fresh.tapName(n, "0")), ...names.map((n) => fresh.deriveMac(seed, n))]
    assert.deepStrictEqual(first, again)
    // The module's own instance (whatever it has hashed so far) agrees too.
    assert.deepStrictEqual(first, [...names.map((n) => tapName(n, "0")), ...names.map((n) => deriveMac(makeSeed(ZERO_UUID, "vm"), n))])
  })
})
