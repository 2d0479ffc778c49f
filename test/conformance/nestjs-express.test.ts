import { startNest } from './nestjs-app.js'
import { runConformance } from './suite.js'

runConformance('nestjs (platform-express, global guard)', (auth) => startNest('express', auth))
