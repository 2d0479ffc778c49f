/**
 * The conformance app on NestJS, on either platform. Written as a Nest app is: a module importing
 * `LatchkeyModule.forRoot`, controllers with route decorators, `@Res({ passthrough: true })` for the
 * login, refresh and logout headers. On Express the guard is global (`APP_GUARD`, `@Public()` for the
 * rest); on Fastify it is per controller (`@UseGuards`), so both ways of installing it run the suite.
 *
 * Injections name their tokens (`@InjectAuth()`), so no decorator metadata is needed: vitest's
 * transform does not emit it.
 */
import {
  type ArgumentsHost,
  Body,
  Catch,
  Controller,
  type ExceptionFilter,
  Get,
  HttpCode,
  Module,
  NotFoundException,
  Options,
  Post,
  Res,
  UseFilters,
  UseGuards,
} from '@nestjs/common'
import { APP_GUARD, NestFactory } from '@nestjs/core'
import { ExpressAdapter } from '@nestjs/platform-express'
import { FastifyAdapter } from '@nestjs/platform-fastify'
import {
  AuthContext,
  applyAuthHeaders,
  CurrentUser,
  InjectAuth,
  LatchkeyGuard,
  LatchkeyModule,
  OptionalAuth,
  Public,
  RequireAuth,
  RequireFresh,
  RequireRefresh,
} from '../../src/adapters/nestjs.js'
import type { Auth, TokenResponse } from '../../src/index.js'
import { findUser, type RunningApp, type User } from './suite.js'

declare module '../../src/adapters/nestjs.js' {
  interface Register {
    user: User
  }
}

type Platform = 'express' | 'fastify'

const tokensBody = (tokens: TokenResponse) => ({
  access_token: tokens.accessToken,
  refresh_token: tokens.refreshToken,
  csrf: tokens.csrf ?? null,
})
const echoOf = (body: unknown) =>
  typeof body === 'object' && body !== null && 'echo' in body ? body.echo : null

const me = (context: AuthContext, body: unknown) => {
  const { user, sub, location, fresh } = context
  return { user, sub, location, fresh, echo: echoOf(body) }
}

/** Every error becomes `500 {swallowed: true}`: what an over-eager app filter does. */
@Catch()
class SwallowEverything implements ExceptionFilter {
  catch(_error: unknown, host: ArgumentsHost) {
    const response = host.switchToHttp().getResponse()
    if ('code' in response) response.code(500).send({ swallowed: true })
    else response.status(500).json({ swallowed: true })
  }
}

function controllers(platform: Platform) {
  // Per-controller guards on Fastify; on Express the global guard covers every route.
  const guarded = platform === 'fastify' ? UseGuards(LatchkeyGuard) : () => {}

  @Controller()
  @guarded
  class AppController {
    constructor(@InjectAuth() private readonly auth: Auth<User>) {}

    @Post('login')
    @Public()
    @HttpCode(200)
    async login(
      @Body() body: { username?: string; remember?: boolean } | undefined,
      @Res({ passthrough: true }) res: unknown,
    ) {
      const user = findUser(body?.username)
      if (!user) throw new NotFoundException({ msg: 'no such user' })
      const tokens = await this.auth.login(user, { remember: body?.remember === true })
      applyAuthHeaders(res, tokens)
      return tokensBody(tokens)
    }

    @Get('me')
    getMe(@AuthContext() context: AuthContext) {
      return me(context, null)
    }

    @Post('me')
    @HttpCode(200)
    postMe(@AuthContext() context: AuthContext, @Body() body: unknown) {
      return me(context, body)
    }

    @Options('me')
    @HttpCode(204)
    preflight() {}

    @Get('maybe')
    @OptionalAuth()
    maybe(@AuthContext() context: AuthContext, @CurrentUser() user: User | null) {
      return { authenticated: context.isAuthenticated, user }
    }

    @Post('settings')
    @RequireFresh()
    @HttpCode(200)
    settings() {
      return { ok: true }
    }

    @Post('refresh')
    @RequireRefresh()
    @HttpCode(200)
    async refresh(@AuthContext() context: AuthContext, @Res({ passthrough: true }) res: unknown) {
      const tokens = await this.auth.refresh(context)
      applyAuthHeaders(res, tokens)
      return tokensBody(tokens)
    }

    @Post('logout')
    @HttpCode(200)
    async logout(@AuthContext() context: AuthContext, @Res({ passthrough: true }) res: unknown) {
      applyAuthHeaders(res, await this.auth.logout(context))
      return { ok: true }
    }

    @Get('boom')
    @Public()
    boom() {
      throw new Error('boom')
    }

    @Get('framework/me')
    @RequireAuth({ handleErrors: 'framework' })
    frameworkMe(@AuthContext() context: AuthContext) {
      return me(context, null)
    }
  }

  @Controller('swallow')
  @guarded
  @UseFilters(SwallowEverything)
  class SwallowController {
    @Get('me')
    getMe(@AuthContext() context: AuthContext) {
      return me(context, null)
    }
  }

  return [AppController, SwallowController]
}

export async function startNest(platform: Platform, auth: Auth<User>): Promise<RunningApp> {
  @Module({
    imports: [LatchkeyModule.forRoot({ auth })],
    controllers: controllers(platform),
    providers: platform === 'express' ? [{ provide: APP_GUARD, useClass: LatchkeyGuard }] : [],
  })
  class AppModule {}

  const adapter = platform === 'express' ? new ExpressAdapter() : new FastifyAdapter()
  // No logger: /boom's error is expected, and Nest would print it.
  const app = await NestFactory.create(AppModule, adapter, { logger: false })
  await app.listen(0, '127.0.0.1')
  const { port } = app.getHttpServer().address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() }
}
