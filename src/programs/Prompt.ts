/** A yes/no question on the terminal (loaded only when a command asks one). */
import { createInterface } from "node:readline/promises"

/** True on "y" or "yes" (any case); the end of the input (Ctrl-D) and Ctrl-C are a no. */
export const askYesNo = async (question: string): Promise<boolean> => {
  const rl = createInterface({ input: process.stdin, output: process.stderr })
  const closed = new Promise<string>((resolve) => rl.once("close", () => resolve("")))
  // Ctrl-C at the question is a no (readline would otherwise only pause the input and wait).
  rl.once("SIGINT", () => {
    process.stderr.write("\n")
    rl.close()
  })
  try {
    const answer = await Promise.race([rl.question(`${question} [y/N] `), closed])
    return /^y(es)?$/i.test(answer.trim())
  } finally {
    rl.close()
  }
}
