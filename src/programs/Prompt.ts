/** A yes/no question on the terminal (loaded only when a command asks one). */
import { createInterface } from "node:readline/promises"

export const askYesNo = async (question: string): Promise<boolean> => {
  const rl = createInterface({ input: process.stdin, output: process.stderr })
  try {
    const answer = await rl.question(`${question} [y/N] `)
    return /^y(es)?$/i.test(answer.trim())
  } finally {
    rl.close()
  }
}
