import { describe, expect, it, vi } from 'vitest'
import { MemoryRevocationStore, RevocationStoreFullError } from '../../src/stores/memory.js'
import { testRevocationStore } from '../../src/stores/testing.js'

// Instances share nothing, so the concurrency tests run 50 calls against one instance.
testRevocationStore('memory', ({ now }) => new MemoryRevocationStore({ now }), {
  connections: 1,
  controllableClock: true,
})

function token(jti: string, sub = 'user') {
  return { jti, sub, family: undefined, issuedAt: 0, expiresAt: undefined }
}

describe('MemoryRevocationStore', () => {
  it('drops expired entries: size falls back once they expire', async () => {
    let now = 1_000_000
    const store = new MemoryRevocationStore({ clock: () => now, sweepIntervalMs: 0 })
    for (let i = 0; i < 5_000; i++) {
      await store.revokeToken(`t${i}`, now + 1_000)
      await store.consumeRefreshToken(`r${i}`, now + 1_000)
    }
    // Write-triggered sweeps found nothing expired yet: every entry is still held.
    expect(store.size).toBe(10_000)
    await store.revokeToken('long-lived', now + 60_000)

    now += 2_000
    // Writes alone bound the maps: after enough of them a sweep runs and drops the expired entries.
    for (let i = 0; i < 10_001; i++) await store.revokeToken(`late${i}`, now + 1_000)
    expect(store.size).toBeLessThan(10_000 + 1 + 10_001)
    store.sweep()
    expect(store.size).toBe(10_001 + 1)
    expect(await store.isRevoked(token('long-lived'))).toBe(true)
    expect(await store.isRevoked(token('t1'))).toBe(false)
    await store.close()
  })

  it('sweeps on its idle timer', async () => {
    let now = 1_000_000
    const store = new MemoryRevocationStore({ now: () => now, sweepIntervalMs: 20 })
    for (let i = 0; i < 100; i++) await store.revokeFamily(`f${i}`, now + 1_000)
    expect(store.size).toBe(100)
    now += 1_001
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect(store.size).toBe(0)
    await store.close()
  })

  it('starts its timer with the first write, not at construction (Workers forbid global-scope timers)', async () => {
    vi.useFakeTimers()
    try {
      const store = new MemoryRevocationStore({ sweepIntervalMs: 1_000 })
      expect(vi.getTimerCount()).toBe(0)
      expect(await store.isRevoked(token('a'))).toBe(false)
      expect(vi.getTimerCount()).toBe(0)
      await store.revokeToken('a', Date.now() + 60_000)
      await store.revokeToken('b', Date.now() + 60_000)
      expect(vi.getTimerCount()).toBe(1)
      await store.close()
      expect(vi.getTimerCount()).toBe(0)
      await store.revokeToken('c', Date.now() + 60_000)
      expect(vi.getTimerCount()).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })

  it('refuses a new entry when full rather than forgetting a live revocation', async () => {
    let now = 1_000_000
    const store = new MemoryRevocationStore({ now: () => now, maxEntries: 3, sweepIntervalMs: 0 })
    await store.revokeToken('a', now + 1_000)
    await store.revokeFamily('b', now + 1_000)
    await store.revokeIdentity('c', now, now + 5_000)
    await expect(store.revokeToken('d', now + 1_000)).rejects.toBeInstanceOf(RevocationStoreFullError)
    await expect(store.consumeRefreshToken('e', now + 1_000)).rejects.toThrow(/full/)
    // Updating an entry that is already held needs no room.
    await store.revokeToken('a', now + 2_000)
    await store.revokeIdentity('c', now + 1, now + 5_000)
    expect(await store.isRevoked(token('a'))).toBe(true)
    expect(await store.isRevoked({ ...token('x', 'c'), issuedAt: now })).toBe(true)

    // Once entries expire there is room again.
    now += 1_500
    await store.revokeToken('d', now + 1_000)
    expect(await store.isRevoked(token('d'))).toBe(true)
    expect(await store.isRevoked(token('a'))).toBe(true)
    await store.close()
  })

  it('validates its options', () => {
    expect(() => new MemoryRevocationStore({ maxEntries: 0 })).toThrow(RangeError)
    expect(() => new MemoryRevocationStore({ sweepIntervalMs: -1 })).toThrow(RangeError)
  })
})
