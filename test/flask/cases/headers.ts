/** The Authorization header, read as Flask-JWT-Extended reads it (JWT_HEADER_NAME, JWT_HEADER_TYPE). */
import type { Case } from '../harness.js'
import { app, authorization, bearer } from './common.js'

const minted = { t: { mint: { identity: 'alice' } } }
const area = 'headers'

export const headerCases: Case[] = [
  {
    area,
    name: 'a valid bearer token',
    tokens: minted,
    request: ({ t }) => bearer(t!),
    expect: { status: 200 },
  },
  { area, name: 'no Authorization header', request: () => ({ path: '/protected' }), expect: { status: 401 } },
  { area, name: 'an empty Authorization header', request: () => authorization('') },
  {
    area,
    name: 'an entry of whitespace only',
    request: () => authorization(' , , '),
    divergence: { id: 'fje-crash', flask: { status: 500 }, latchkey: { status: 401 } },
  },
  { area, name: 'only commas', request: () => authorization(',,') },
  { area, name: '"Bearer" alone', request: () => authorization('Bearer') },
  { area, name: 'three words', tokens: minted, request: ({ t }) => authorization(`Bearer ${t} extra`) },
  { area, name: 'another scheme only', request: () => authorization('Basic dXNlcjpwYXNz') },
  { area, name: 'a token without a scheme', tokens: minted, request: ({ t }) => authorization(t!) },
  {
    area,
    name: 'Bearer first in a comma list',
    tokens: minted,
    request: ({ t }) => authorization(`Bearer ${t}, Basic dXNlcjpwYXNz`),
    expect: { status: 200 },
  },
  {
    area,
    name: 'Bearer second in a comma list',
    tokens: minted,
    request: ({ t }) => authorization(`Basic dXNlcjpwYXNz, Bearer ${t}`),
    expect: { status: 200 },
  },
  {
    area,
    name: 'two Bearer entries',
    tokens: minted,
    request: ({ t }) => authorization(`Bearer ${t}, Bearer ${t}`),
  },
  {
    area,
    name: 'a comma list with a bad Bearer entry',
    tokens: minted,
    request: ({ t }) => authorization(`Basic x, Bearer ${t} more`),
  },
  {
    area,
    name: 'commas and spaces around',
    tokens: minted,
    request: ({ t }) => authorization(`, Bearer ${t} ,`),
  },
  {
    area,
    name: 'several spaces between',
    tokens: minted,
    request: ({ t }) => authorization(`Bearer    ${t}`),
  },
  { area, name: 'a tab between', tokens: minted, request: ({ t }) => authorization(`Bearer\t${t}`) },
  { area, name: 'a lower-case scheme', tokens: minted, request: ({ t }) => authorization(`bearer ${t}`) },
  {
    area,
    name: 'a comma list without spaces',
    tokens: minted,
    request: ({ t }) => authorization(`Basic x,Bearer ${t}`),
  },
  {
    area,
    name: 'two Authorization headers (joined with a comma)',
    tokens: minted,
    request: ({ t }) => ({
      path: '/protected',
      headers: [
        ['Authorization', 'Basic x'],
        ['Authorization', `Bearer ${t}`],
      ],
    }),
  },
  {
    area,
    name: 'JWT_HEADER_NAME: the token in another header',
    app: app({ JWT_HEADER_NAME: 'X-Auth-Token' }),
    tokens: minted,
    request: ({ t }) => ({ path: '/protected', headers: [['X-Auth-Token', `Bearer ${t}`]] }),
    expect: { status: 200 },
  },
  {
    area,
    name: 'JWT_HEADER_NAME: the Authorization header is not read',
    app: app({ JWT_HEADER_NAME: 'X-Auth-Token' }),
    tokens: minted,
    request: ({ t }) => bearer(t!),
  },
  {
    area,
    name: 'JWT_HEADER_TYPE "JWT"',
    app: app({ JWT_HEADER_TYPE: 'JWT' }),
    tokens: minted,
    request: ({ t }) => authorization(`JWT ${t}`),
    expect: { status: 200 },
  },
  {
    area,
    name: 'JWT_HEADER_TYPE "JWT": Bearer is another scheme',
    app: app({ JWT_HEADER_TYPE: 'JWT' }),
    tokens: minted,
    request: ({ t }) => bearer(t!),
  },
  {
    area,
    name: 'JWT_HEADER_TYPE "": the bare token',
    app: app({ JWT_HEADER_TYPE: '' }),
    tokens: minted,
    request: ({ t }) => authorization(t!),
    expect: { status: 200 },
  },
  {
    area,
    name: 'JWT_HEADER_TYPE "": two words',
    app: app({ JWT_HEADER_TYPE: '' }),
    tokens: minted,
    request: ({ t }) => bearer(t!),
  },
  {
    area,
    name: 'JWT_HEADER_TYPE "": no header',
    app: app({ JWT_HEADER_TYPE: '' }),
    request: () => ({ path: '/protected' }),
  },
  {
    area,
    name: 'JWT_HEADER_TYPE "" and JWT_HEADER_NAME',
    app: app({ JWT_HEADER_TYPE: '', JWT_HEADER_NAME: 'X-Token' }),
    request: () => ({ path: '/protected', headers: [['X-Token', 'a b']] }),
  },
]
