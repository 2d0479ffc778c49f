/**
 * A TCP proxy in front of Redis that a test can take down (every connection cut, port closed) and
 * bring back on the same port: a Redis outage without touching the machine's shared server. Used by
 * the store tests and the revocation tests.
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

/** Starts the proxy to `target` on a free port; `stop()` cuts it, `start()` brings it back on that port. */
export async function tcpProxy(
  target: URL,
): Promise<{ url: string; stop(): Promise<void>; start(): Promise<void> }> {
  const sockets = new Set<Socket>()
  let server: Server | undefined
  let onPort = 0
  async function start(): Promise<void> {
    const next = createServer((downstream) => {
      const upstream = connect({ host: target.hostname, port: Number(target.port) || 6379 })
      for (const socket of [downstream, upstream]) {
        sockets.add(socket)
        socket.on('error', () => socket.destroy())
        socket.on('close', () => {
          sockets.delete(socket)
          downstream.destroy()
          upstream.destroy()
        })
      }
      downstream.pipe(upstream)
      upstream.pipe(downstream)
    })
    await listen(next, onPort)
    onPort = (next.address() as AddressInfo).port
    server = next
  }
  async function stop(): Promise<void> {
    const current = server
    server = undefined
    for (const socket of sockets) socket.destroy()
    if (current !== undefined) await new Promise<void>((resolve) => current.close(() => resolve()))
  }
  await start()
  return { url: `redis://127.0.0.1:${onPort}`, start, stop }
}
