/**
 * Input and output of the CLI, injectable so tests run commands in process.
 */
import type { Readable, Writable } from 'node:stream'

/** Where a command reads and writes, and its environment. */
export interface CliIO {
  stdout: Writable
  stderr: Writable
  stdin: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown }
  env: NodeJS.ProcessEnv
  cwd: string
}

/** The process's own streams and environment. */
export function processIO(): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  }
}

/** Writes a line to standard output. */
export function print(io: CliIO, text = ''): void {
  io.stdout.write(`${text}\n`)
}

/** Reads all of standard input (a piped password, say). */
export async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stream)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer))
  return Buffer.concat(chunks).toString('utf8')
}

/** Prompts on a terminal without echoing what is typed. */
export function promptHidden(io: CliIO, question: string): Promise<string> {
  const input = io.stdin
  return new Promise((resolve, reject) => {
    io.stderr.write(question)
    let value = ''
    input.setRawMode?.(true)
    input.resume()
    input.setEncoding('utf8')
    const done = (error?: Error) => {
      input.setRawMode?.(false)
      input.pause()
      input.off('data', onData)
      io.stderr.write('\n')
      if (error) reject(error)
      else resolve(value)
    }
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done()
        if (ch === '\u0003') return done(new Error('cancelled'))
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('')
        else value += ch
      }
    }
    input.on('data', onData)
  })
}
