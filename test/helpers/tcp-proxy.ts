/**
 * A TCP proxy in front of Redis or PostgreSQL that a test can break without touching the machine's
 * shared servers:
 * - `stop()`: every connection cut and the port closed (a dependency that is down: refused);
 * - `stall()`: connections stay open, and new ones are accepted, but no byte goes either way (a
 *   dependency that hangs: a stalled server, a lock, a network partition); `resume()` lets the held
 *   bytes through again, as a partition that heals would;
 * - `start()`: back on the same port after a `stop()`.
 * Used by the store, revocation and fault tests.
 */
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net'

function listen(server: Server, onPort: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(onPort, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
}

/** A running proxy. */
export interface TcpProxy {
  /** `redis://127.0.0.1:<port>` (kept for the Redis tests). */
  url: string
  port: number
  stop(): Promise<void>
  start(): Promise<void>
  stall(): void
  resume(): void
}

interface Pair {
  downstream: Socket
  upstream: Socket
}

/** Starts the proxy to `target` (its host and port) on a free port. */
export async function tcpProxy(target: URL): Promise<TcpProxy> {
  const pairs = new Set<Pair>()
  let server: Server | undefined
  let onPort = 0
  let stalled = false

  const flow = ({ downstream, upstream }: Pair): void => {
    downstream.pipe(upstream)
    upstream.pipe(downstream)
    downstream.resume()
    upstream.resume()
  }
  const hold = ({ downstream, upstream }: Pair): void => {
    downstream.unpipe(upstream)
    upstream.unpipe(downstream)
    downstream.pause()
    upstream.pause()
  }

  async function start(): Promise<void> {
    const next = createServer((downstream) => {
      const defaultPort = target.protocol.startsWith('postgres') ? 5432 : 6379
      const upstream = connect({ host: target.hostname, port: Number(target.port) || defaultPort })
      const pair = { downstream, upstream }
      pairs.add(pair)
      for (const socket of [downstream, upstream]) {
        socket.on('error', () => socket.destroy())
        socket.on('close', () => {
          pairs.delete(pair)
          downstream.destroy()
          upstream.destroy()
        })
      }
      if (stalled) hold(pair)
      else flow(pair)
    })
    await listen(next, onPort)
    onPort = (next.address() as AddressInfo).port
    server = next
  }

  async function stop(): Promise<void> {
    const current = server
    server = undefined
    stalled = false
    for (const { downstream, upstream } of pairs) {
      downstream.destroy()
      upstream.destroy()
    }
    if (current !== undefined) await new Promise<void>((resolve) => current.close(() => resolve()))
  }

  await start()
  return {
    url: `redis://127.0.0.1:${onPort}`,
    port: onPort,
    start,
    stop,
    stall() {
      stalled = true
      for (const pair of pairs) hold(pair)
    },
    resume() {
      stalled = false
      for (const pair of pairs) flow(pair)
    },
  }
}
