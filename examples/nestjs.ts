/** A minimal NestJS app with latchkey: `npx tsx examples/nestjs.ts`, then POST /login {"username":"alice"}. */
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { Body, Controller, Get, HttpCode, Module, Post, Res, UnauthorizedException } from '@nestjs/common'
import { APP_GUARD, NestFactory } from '@nestjs/core'
import {
  AuthContext,
  applyAuthHeaders,
  CurrentUser,
  InjectAuth,
  LatchkeyGuard,
  LatchkeyModule,
  Public,
  RequireRefresh,
} from '../src/adapters/nestjs.js'
import { type Auth, createAuth, MemoryRevocationStore } from '../src/index.js'

export type User = { id: string; email: string; active: boolean }
// In an app: declare module 'latchkey/nestjs'. Types @CurrentUser() and AuthContext everywhere.
declare module '../src/adapters/nestjs.js' {
  interface Register {
    user: User
  }
}

const users = new Map<string, User>([['alice', { id: 'alice', email: 'alice@example.com', active: true }]])
export const auth = createAuth<User>({
  keys: { secret: process.env.LATCHKEY_SECRET ?? 'example-only-secret-change-me-0123456789abcdef' },
  revocation: new MemoryRevocationStore(),
  identify: (user) => user.id,
  loadUser: (id) => users.get(id),
  isActive: (user) => user.active,
})

// Injections name their token (@InjectAuth()): no emitDecoratorMetadata needed.
@Controller()
class SessionController {
  constructor(@InjectAuth() private readonly auth: Auth<User>) {}

  @Post('login')
  @Public()
  @HttpCode(200)
  async login(@Body() body: { username?: string }, @Res({ passthrough: true }) res: unknown) {
    const user = users.get(body?.username ?? '') // check the password here
    if (!user) throw new UnauthorizedException({ msg: 'Bad username or password' })
    const tokens = await this.auth.login(user)
    applyAuthHeaders(res, tokens)
    return { access_token: tokens.accessToken, refresh_token: tokens.refreshToken }
  }

  @Get('me')
  me(@CurrentUser() user: User) {
    return { email: user.email }
  }

  @Post('refresh')
  @RequireRefresh()
  @HttpCode(200)
  async refresh(@AuthContext() context: AuthContext, @Res({ passthrough: true }) res: unknown) {
    const tokens = await this.auth.refresh(context)
    applyAuthHeaders(res, tokens)
    return { access_token: tokens.accessToken, refresh_token: tokens.refreshToken }
  }

  @Post('logout')
  @HttpCode(200)
  async logout(@AuthContext() context: AuthContext, @Res({ passthrough: true }) res: unknown) {
    applyAuthHeaders(res, await this.auth.logout(context))
    return { ok: true }
  }
}

@Module({
  imports: [LatchkeyModule.forRoot({ auth })],
  // The guard on every route; @Public() for the login. Or @UseGuards(LatchkeyGuard) per controller.
  providers: [{ provide: APP_GUARD, useClass: LatchkeyGuard }],
  controllers: [SessionController],
})
class AppModule {}

export async function start(port = 3000, host = '127.0.0.1') {
  const app = await NestFactory.create(AppModule, { logger: false })
  await app.listen(port, host)
  return {
    address: () => app.getHttpServer().address() as AddressInfo,
    close: (done?: () => void) => void app.close().then(done),
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await start(Number(process.env.PORT ?? 3000))
  console.log('listening on', server.address())
}
