import { startNest } from './nestjs-app.js'
import { runConformance } from './suite.js'

runConformance('nestjs (platform-fastify, guard per controller)', (auth) => startNest('fastify', auth))
