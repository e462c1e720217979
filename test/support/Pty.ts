/**
 * Runs a command on a real pseudo-terminal (Python's pty module, spawned with an argument array),
 * answering prompts: each answer is typed once the output so far contains its `after` text. The
 * output is what the terminal received (stdout and stderr together, with `\r\n` line ends).
 */
import { spawn } from "node:child_process"

const DRIVER = `
import fcntl, json, os, pty, select, struct, sys, termios, time
spec = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvpe(spec["argv"][0], spec["argv"], dict(os.environ, **spec["env"]))
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, spec["columns"], 0, 0))
answers = list(spec["answers"])
out = b""
deadline = time.time() + spec["timeout"]
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.1)
    if ready:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    if answers and answers[0]["after"].encode() in out:
        os.write(fd, answers.pop(0)["send"].encode())
else:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
`

export interface PtyResult {
  readonly output: string
  readonly exitCode: number | null
}

export const runOnPty = (
  argv: ReadonlyArray<string>,
  options: {
    readonly env?: Record<string, string>
    readonly answers?: ReadonlyArray<{ readonly after: string; readonly send: string }>
    readonly timeoutSeconds?: number
    /** The terminal's width. Default 100. */
    readonly columns?: number
  } = {}
): Promise<PtyResult> =>
  new Promise((resolve, reject) => {
    const spec = JSON.stringify({ argv, env: options.env ?? {}, answers: options.answers ?? [], timeout: options.timeoutSeconds ?? 40, columns: options.columns ?? 100 })
    const child = spawn("python3", ["-c", DRIVER, spec], { stdio: ["ignore", "pipe", "inherit"] })
    const chunks: Array<Buffer> = []
    child.stdout.on("data", (c: Buffer) => chunks.push(c))
    child.on("error", reject)
    child.on("close", (code) => resolve({ output: Buffer.concat(chunks).toString("utf8"), exitCode: code }))
  })
