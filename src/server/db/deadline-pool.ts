/**
 * A `pg` pool whose every query has a deadline, for Kysely's PostgresDialect. PostgreSQL that stops
 * answering but keeps its sockets open (a stalled server, a network partition, a lock held for ever)
 * would otherwise hold each request for as long as the kernel keeps the connection: 30 s and more.
 *
 * Reads (`select`) get the read deadline (the revocation check of every guarded request is one),
 * everything else the write deadline. A connection whose query ran out of time is destroyed when it
 * goes back to the pool: its answer may still arrive, and must never be read as the next query's.
 * Waiting for a connection is bounded by the pool's own `connectionTimeoutMillis`. And a connection
 * that breaks while checked out never ends the process (pg emits an unheard 'error' for it).
 */
import type { PostgresPool, PostgresPoolClient } from 'kysely'
import type pg from 'pg'
import { DeadlineError } from '../deadline.js'

/** Deadlines of one query, in milliseconds. */
export interface QueryDeadlines {
  readMs: number
  writeMs: number
}

/** A pool for Kysely with per-query deadlines; `deadlines` may be changed (migrations take longer). */
export interface DeadlinePool extends PostgresPool {
  deadlines: QueryDeadlines
}

const READ = /^\s*select\b/i

/** pg's own texts for its query and connect timeouts. */
const QUERY_TIMEOUT = 'Query read timeout'
const CONNECT_TIMEOUT =
  /timeout exceeded when trying to connect|Connection terminated due to connection timeout/

/** Wraps a pg Pool; `pool.end()` ends the wrapped pool. */
export function deadlinePool(pool: pg.Pool, deadlines: QueryDeadlines, acquireMs: number): DeadlinePool {
  const wrapper: DeadlinePool = {
    deadlines,
    async connect(): Promise<PostgresPoolClient> {
      let client: pg.PoolClient
      try {
        client = await pool.connect()
      } catch (error) {
        if (error instanceof Error && CONNECT_TIMEOUT.test(error.message))
          throw new DeadlineError('database connection', acquireMs, { cause: error })
        throw error
      }
      return timedClient(client, wrapper)
    },
    end: () => pool.end(),
  }
  return wrapper
}

function timedClient(client: pg.PoolClient, pool: DeadlinePool): PostgresPoolClient {
  let timedOut = false
  let broken = false
  // pg-pool listens for errors of idle connections only. A connection that drops while checked out
  // (PostgreSQL restarted, a proxy or the network cut it) emits 'error' with nobody listening, and
  // Node ends the process. The query in flight fails on its own; here the connection is only marked
  // so that it is not reused.
  const onError = () => {
    broken = true
  }
  client.on('error', onError)
  const query = async (sql: string, values: ReadonlyArray<unknown>) => {
    const ms = READ.test(sql) ? pool.deadlines.readMs : pool.deadlines.writeMs
    try {
      // `query_timeout` per query is pg's own option (its type definitions lack it).
      const config = { text: sql, values: [...values], query_timeout: ms } as pg.QueryConfig
      return await client.query(config)
    } catch (error) {
      if (error instanceof Error && error.message === QUERY_TIMEOUT) {
        timedOut = true
        throw new DeadlineError(READ.test(sql) ? 'database read' : 'database write', ms, { cause: error })
      }
      throw error
    }
  }
  return {
    query: query as unknown as PostgresPoolClient['query'],
    // `true` makes the pool end the connection (pg destroys the socket of a hung query).
    release: (destroy?: boolean) => {
      client.removeListener('error', onError)
      client.release(timedOut || broken || destroy === true)
    },
  }
}
