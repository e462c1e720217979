/** Bounded polling for end-to-end tests: every wait has a deadline and says what it waited for. */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export interface PollOptions {
  /** Give up after this long. */
  readonly timeoutMs: number
  /** Pause between probes. Default 250 ms. */
  readonly intervalMs?: number
  /** Extra text for the timeout error (e.g. a journal), computed only on timeout. */
  readonly diagnostics?: () => Promise<string> | string
}

/**
 * Calls `probe` until it returns something other than `undefined` and returns that; rejects with
 * `what` (plus the last probe error and the diagnostics) once the deadline passes. A probe that
 * throws counts as "not yet".
 */
export const pollUntil = async <A>(
  what: string,
  probe: () => Promise<A | undefined> | A | undefined,
  options: PollOptions
): Promise<A> => {
  const deadline = Date.now() + options.timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (error) {
      lastError = error
    }
    if (Date.now() >= deadline) {
      const extra = options.diagnostics === undefined ? "" : await Promise.resolve(options.diagnostics()).catch(String)
      const cause = lastError === undefined ? "" : `\nlast error: ${lastError instanceof Error ? lastError.message : String(lastError)}`
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}${cause}${extra === "" ? "" : `\n${extra}`}`)
    }
    await sleep(Math.min(options.intervalMs ?? 250, Math.max(0, deadline - Date.now())))
  }
}
