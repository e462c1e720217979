/**
 * SHA3-224 and SHAKE128 (FIPS 202), the two hashes machina's identifiers are derived with
 * (identity.md): tap names too long for an interface, MAC addresses, serials, WWNs. Written out here
 * because loading `node:crypto` costs more (5 to 9 ms here) than the little hashing a command or
 * hook does: a hash costs about 0.1 ms cold (the interpreter), 5 us once optimised, where
 * node:crypto takes 2 us. Identity.ts uses these for a process's first hashes only. test/domain/Keccak.test.ts checks
 * both against `node:crypto` on random inputs and output lengths.
 *
 * The state is 25 lanes of 64 bits, each held as two 32-bit halves (low word first); the
 * permutation's constants are computed from their definitions in FIPS 202 on the first hash.
 */

/** ρ: the rotation of each lane (index x + 5y), FIPS 202 §3.2.2. */
const RHO = new Uint8Array(25)
/** π: where each lane goes, FIPS 202 §3.2.3 (A'[x, y] = A[x + 3y, x], i.e. lane (x, y) moves to (y, 2x + 3y)). */
const PI = new Uint8Array(25)
/** ι: the 24 round constants as low and high words, from the LFSR rc(t) of FIPS 202 §3.2.5. */
const RC = new Int32Array(48)
/** ρ and π per lane: where its halves go (swapped when the rotation is 32 or more) and the rotation left within a word. */
const TO_LOW = new Uint8Array(25)
const SWAP = new Uint8Array(25)
const SHIFT = new Uint8Array(25)

/** Fills the tables above, on the first hash (most hook runs hash nothing). */
let computed = false
const computeTables = (): void => {
  computed = true
  let x = 1
  let y = 0
  for (let t = 0; t < 24; t++) {
    RHO[x + 5 * y] = (((t + 1) * (t + 2)) / 2) % 64
    ;[x, y] = [y, (2 * x + 3 * y) % 5]
  }
  for (let x = 0; x < 5; x++) for (let y = 0; y < 5; y++) PI[x + 5 * y] = y + 5 * ((2 * x + 3 * y) % 5)
  let r = 1
  for (let round = 0; round < 24; round++) {
    for (let j = 0; j < 7; j++) {
      if (r & 1) {
        const bit = (1 << j) - 1
        if (bit < 32) RC[2 * round] = RC[2 * round]! | (1 << bit)
        else RC[2 * round + 1] = RC[2 * round + 1]! | (1 << (bit - 32))
      }
      r <<= 1
      if (r & 0x100) r ^= 0x171
    }
  }
  for (let i = 0; i < 25; i++) {
    TO_LOW[i] = 2 * PI[i]!
    SWAP[i] = RHO[i]! >= 32 ? 1 : 0
    SHIFT[i] = RHO[i]! % 32
  }
}

const B = new Int32Array(50)

/** Keccak-f[1600] on `s` in place. Written for the interpreter: a command hashes a few times, cold. */
const permute = (s: Int32Array): void => {
  for (let round = 0; round < 24; round++) {
    // θ
    const c0l = s[0]! ^ s[10]! ^ s[20]! ^ s[30]! ^ s[40]!
    const c0h = s[1]! ^ s[11]! ^ s[21]! ^ s[31]! ^ s[41]!
    const c1l = s[2]! ^ s[12]! ^ s[22]! ^ s[32]! ^ s[42]!
    const c1h = s[3]! ^ s[13]! ^ s[23]! ^ s[33]! ^ s[43]!
    const c2l = s[4]! ^ s[14]! ^ s[24]! ^ s[34]! ^ s[44]!
    const c2h = s[5]! ^ s[15]! ^ s[25]! ^ s[35]! ^ s[45]!
    const c3l = s[6]! ^ s[16]! ^ s[26]! ^ s[36]! ^ s[46]!
    const c3h = s[7]! ^ s[17]! ^ s[27]! ^ s[37]! ^ s[47]!
    const c4l = s[8]! ^ s[18]! ^ s[28]! ^ s[38]! ^ s[48]!
    const c4h = s[9]! ^ s[19]! ^ s[29]! ^ s[39]! ^ s[49]!
    // D[x] = C[x - 1] ^ rotl(C[x + 1], 1)
    const d0l = c4l ^ ((c1l << 1) | (c1h >>> 31))
    const d0h = c4h ^ ((c1h << 1) | (c1l >>> 31))
    const d1l = c0l ^ ((c2l << 1) | (c2h >>> 31))
    const d1h = c0h ^ ((c2h << 1) | (c2l >>> 31))
    const d2l = c1l ^ ((c3l << 1) | (c3h >>> 31))
    const d2h = c1h ^ ((c3h << 1) | (c3l >>> 31))
    const d3l = c2l ^ ((c4l << 1) | (c4h >>> 31))
    const d3h = c2h ^ ((c4h << 1) | (c4l >>> 31))
    const d4l = c3l ^ ((c0l << 1) | (c0h >>> 31))
    const d4h = c3h ^ ((c0h << 1) | (c0l >>> 31))
    for (let y = 0; y < 50; y += 10) {
      s[y] ^= d0l
      s[y + 1] ^= d0h
      s[y + 2] ^= d1l
      s[y + 3] ^= d1h
      s[y + 4] ^= d2l
      s[y + 5] ^= d2h
      s[y + 6] ^= d3l
      s[y + 7] ^= d3h
      s[y + 8] ^= d4l
      s[y + 9] ^= d4h
    }
    // ρ and π
    for (let i = 0; i < 25; i++) {
      const l = SWAP[i] === 1 ? s[2 * i + 1]! : s[2 * i]!
      const h = SWAP[i] === 1 ? s[2 * i]! : s[2 * i + 1]!
      const n = SHIFT[i]!
      const to = TO_LOW[i]!
      if (n === 0) {
        B[to] = l
        B[to + 1] = h
      } else {
        B[to] = (l << n) | (h >>> (32 - n))
        B[to + 1] = (h << n) | (l >>> (32 - n))
      }
    }
    // χ, a row (five lanes) at a time
    for (let y = 0; y < 50; y += 10) {
      const b0l = B[y]!, b0h = B[y + 1]!, b1l = B[y + 2]!, b1h = B[y + 3]!, b2l = B[y + 4]!
      const b2h = B[y + 5]!, b3l = B[y + 6]!, b3h = B[y + 7]!, b4l = B[y + 8]!, b4h = B[y + 9]!
      s[y] = b0l ^ (~b1l & b2l)
      s[y + 1] = b0h ^ (~b1h & b2h)
      s[y + 2] = b1l ^ (~b2l & b3l)
      s[y + 3] = b1h ^ (~b2h & b3h)
      s[y + 4] = b2l ^ (~b3l & b4l)
      s[y + 5] = b2h ^ (~b3h & b4h)
      s[y + 6] = b3l ^ (~b4l & b0l)
      s[y + 7] = b3h ^ (~b4h & b0h)
      s[y + 8] = b4l ^ (~b0l & b1l)
      s[y + 9] = b4h ^ (~b0h & b1h)
    }
    // ι
    s[0] ^= RC[2 * round]!
    s[1] ^= RC[2 * round + 1]!
  }
}

const xorByte = (s: Int32Array, at: number, byte: number) => {
  s[at >> 2] ^= byte << (8 * (at & 3))
}

/** The sponge: absorbs `input` padded with `suffix` (the domain bits and the first padding bit), squeezes `length` bytes. */
const sponge = (rate: number, suffix: number, input: Uint8Array, length: number): Uint8Array => {
  if (!computed) computeTables()
  const s = new Int32Array(50)
  let at = 0
  for (const byte of input) {
    xorByte(s, at++, byte)
    if (at === rate) {
      permute(s)
      at = 0
    }
  }
  xorByte(s, at, suffix)
  xorByte(s, rate - 1, 0x80)
  permute(s)
  const out = new Uint8Array(length)
  for (let i = 0, j = 0; i < length; i++, j++) {
    if (j === rate) {
      permute(s)
      j = 0
    }
    out[i] = (s[j >> 2]! >>> (8 * (j & 3))) & 0xff
  }
  return out
}

/** SHA3-224 of `input` (28 bytes). */
export const sha3_224 = (input: Uint8Array): Uint8Array => sponge(144, 0x06, input, 28)

/** The first `length` bytes of SHAKE128's output for `input`. */
export const shake128 = (input: Uint8Array, length: number): Uint8Array => sponge(168, 0x1f, input, length)
