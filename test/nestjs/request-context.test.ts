/**
 * Where the NestJS guard keeps `request.auth`. On the Express platform the request is Express's, which
 * gives every request object a hidden class of its own: the context then lives behind an accessor on
 * Express's shared request prototype (src/adapters/node-context.ts), and nothing is added to the
 * request. On the Fastify platform the request is a Fastify request, and `auth` is its own property.
 */
import { Controller, Get, Module, Req } from '@nestjs/common'
import { APP_GUARD, NestFactory } from '@nestjs/core'
import { ExpressAdapter } from '@nestjs/platform-express'
import { FastifyAdapter } from '@nestjs/platform-fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { LatchkeyGuard, LatchkeyModule } from '../../src/adapters/nestjs.js'
import { createAuth } from '../../src/index.js'

const auth = createAuth<string>({
  keys: { secret: 'nest-context-secret-0123456789-abcdefghijklmnopqrstuvwxyz' },
  identify: (id) => id,
  loadUser: (id) => id,
})

@Controller()
class MeController {
  @Get('me')
  me(@Req() request: { auth?: { sub: string | null } }) {
    return { sub: request.auth?.sub ?? null, own: Object.hasOwn(request, 'auth') }
  }
}

@Module({
  imports: [LatchkeyModule.forRoot({ auth })],
  controllers: [MeController],
  providers: [{ provide: APP_GUARD, useClass: LatchkeyGuard }],
})
class AppModule {}

const running: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()))
})

async function me(platform: 'express' | 'fastify'): Promise<unknown> {
  const adapter = platform === 'express' ? new ExpressAdapter() : new FastifyAdapter()
  const app = await NestFactory.create(AppModule, adapter, { logger: false })
  running.push(app)
  await app.listen(0, '127.0.0.1')
  const { port } = app.getHttpServer().address() as { port: number }
  const response = await fetch(`http://127.0.0.1:${port}/me`, {
    headers: { authorization: `Bearer ${auth.createAccessToken('ada')}` },
  })
  expect(response.status).toBe(200)
  return response.json()
}

describe('request.auth in NestJS', () => {
  it('on Express: the context through the shared prototype, no property added to the request', async () => {
    expect(await me('express')).toEqual({ sub: 'ada', own: false })
  })

  it('on Fastify: the context as a property of the request', async () => {
    expect(await me('fastify')).toEqual({ sub: 'ada', own: true })
  })
})
