/** A yes/no question on the terminal (loaded only when a command asks one). */
import { createInterface } from "node:readline/promises"

/** True on "y" or "yes" (any case); the end of the input (Ctrl-D) is a no. */
export const askYesNo = async (question: string): Promise<boolean> => {
  const rl = createInterface({ input: process.stdin, output: process.stderr })
  const closed = new Promise<string>((resolve) => rl.once("close", () => resolve("")))
  try {
    const answer = await Promise.race([rl.question(`${question} [y/N] `), closed])
    return /^y(es)?$/i.test(answer.trim())
  } finally {
    rl.close()
  }
}
