/**
 * What the conformance suite does not cover of `latchkey/nestjs`: the module's ways of getting its
 * auth object (`forRoot` with the object or its options, `forRootAsync` from another provider), a
 * second module reusing that object, `isGlobal: false`, and which route decorator wins.
 */
import { Controller, Get, Injectable, Module, Post } from '@nestjs/common'
import { APP_GUARD, NestFactory } from '@nestjs/core'
import { afterEach, describe, expect, it } from 'vitest'
import {
  AuthContext,
  InjectAuth,
  LatchkeyGuard,
  LatchkeyModule,
  OptionalAuth,
  Public,
  RequireAuth,
  RequireFresh,
} from '../../src/adapters/nestjs.js'
import { type Auth, type AuthOptions, ConfigError, createAuth } from '../../src/index.js'

const SECRET = 'nest-module-secret-0123456789-abcdefghijklmnopqrstuvwxyz'
const options: AuthOptions<string> = { keys: { secret: SECRET }, identify: (id) => id, loadUser: (id) => id }

const running: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()))
})

async function start(module: new () => unknown): Promise<string> {
  const app = await NestFactory.create(module, { logger: false })
  running.push(app)
  await app.listen(0, '127.0.0.1')
  return `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`
}

async function get(url: string, token?: string, method = 'GET') {
  const response = await fetch(url, {
    method,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  })
  return {
    status: response.status,
    body: (await response.json().catch(() => null)) as Record<string, unknown>,
  }
}

/** A module of its own (a login API, say) that issues tokens with the auth object it injects. */
@Controller('session')
class SessionController {
  constructor(@InjectAuth() private readonly auth: Auth<string>) {}
  @Post()
  @Public()
  async login() {
    return { token: (await this.auth.login('alice')).accessToken }
  }
}
@Module({ controllers: [SessionController] })
class SessionModule {}

@Controller()
class MeController {
  @Get('me')
  me(@AuthContext() context: AuthContext<string>) {
    return { sub: context.sub, fresh: context.fresh }
  }
}

describe('LatchkeyModule', () => {
  it('forRoot with createAuth options: the module creates the auth object; a second module reuses it', async () => {
    @Module({
      imports: [LatchkeyModule.forRoot({ auth: options }), SessionModule],
      controllers: [MeController],
      providers: [{ provide: APP_GUARD, useClass: LatchkeyGuard }],
    })
    class AppModule {}
    const url = await start(AppModule)
    expect((await get(`${url}/me`)).status).toBe(401)
    const { body } = await get(`${url}/session`, undefined, 'POST')
    // The token of SessionModule's injected auth object passes the guard's auth object.
    expect(await get(`${url}/me`, body.token as string)).toEqual({
      status: 200,
      body: { sub: 'alice', fresh: true },
    })
  })

  it('forRootAsync: the auth object from a factory over another provider', async () => {
    const CONFIG = Symbol('config')
    @Injectable()
    class Config {
      readonly secret = SECRET
    }
    @Module({ providers: [{ provide: CONFIG, useClass: Config }], exports: [CONFIG] })
    class ConfigModule {}
    const created: Auth<string>[] = []
    @Module({
      imports: [
        LatchkeyModule.forRootAsync({
          imports: [ConfigModule],
          inject: [CONFIG],
          useFactory: (config: Config) => {
            const auth = createAuth({ ...options, keys: { secret: config.secret } })
            created.push(auth)
            return { auth }
          },
        }),
        SessionModule,
      ],
      controllers: [MeController],
      providers: [{ provide: APP_GUARD, useClass: LatchkeyGuard }],
    })
    class AppModule {}
    const url = await start(AppModule)
    expect(created).toHaveLength(1)
    const token = created[0]!.createAccessToken('bob')
    expect((await get(`${url}/me`, token)).body).toEqual({ sub: 'bob', fresh: false })
  })

  it('isGlobal: false: a module that imports it gets the guard and the auth object', async () => {
    const latchkey = LatchkeyModule.forRoot({ auth: options, isGlobal: false })
    expect(latchkey.global).toBe(false)
    @Module({
      imports: [latchkey],
      controllers: [MeController],
      providers: [{ provide: APP_GUARD, useClass: LatchkeyGuard }],
    })
    class AppModule {}
    const url = await start(AppModule)
    expect((await get(`${url}/me`)).status).toBe(401)
  })

  it('refuses to start without an auth object or options', async () => {
    @Module({ imports: [LatchkeyModule.forRoot({} as never)] })
    class AppModule {}
    await expect(NestFactory.create(AppModule, { logger: false, abortOnError: false })).rejects.toThrow(
      ConfigError,
    )
  })
})

describe('route decorators: the most specific wins', () => {
  @Controller('public')
  @Public()
  class PublicController {
    @Get('open')
    open() {
      return { open: true }
    }
    @Get('closed')
    @RequireAuth()
    closed(@AuthContext() context: AuthContext<string>) {
      return { sub: context.sub }
    }
  }

  @Controller('optional')
  @OptionalAuth()
  class OptionalController {
    @Get('maybe')
    maybe(@AuthContext() context: AuthContext<string>) {
      return { authenticated: context.isAuthenticated }
    }
    @Get('fresh')
    @RequireFresh()
    fresh() {
      return { ok: true }
    }
  }

  it('a class-level @Public() is overridden by a method-level @RequireAuth(), and the reverse', async () => {
    const auth = createAuth(options)
    @Module({
      imports: [LatchkeyModule.forRoot({ auth })],
      controllers: [PublicController, OptionalController],
      providers: [{ provide: APP_GUARD, useClass: LatchkeyGuard }],
    })
    class AppModule {}
    const url = await start(AppModule)
    const fresh = (await auth.login('alice')).accessToken
    const stale = auth.createAccessToken('alice')

    expect(await get(`${url}/public/open`, 'not-a-token')).toEqual({ status: 200, body: { open: true } })
    expect((await get(`${url}/public/closed`)).body.code).toBe('TOKEN_MISSING')
    expect((await get(`${url}/public/closed`, fresh)).body).toEqual({ sub: 'alice' })

    expect((await get(`${url}/optional/maybe`)).body).toEqual({ authenticated: false })
    expect((await get(`${url}/optional/fresh`)).body.code).toBe('TOKEN_MISSING')
    expect((await get(`${url}/optional/fresh`, stale)).body.code).toBe('FRESH_TOKEN_REQUIRED')
    expect((await get(`${url}/optional/fresh`, fresh)).status).toBe(200)
  })
})
