import { createServer } from 'node:http'
import { getRequestListener } from '@hono/node-server'
import { honoApp } from './hono-app.js'
import { listen, runConformance } from './suite.js'

runConformance('hono', (auth) => listen(createServer(getRequestListener(honoApp(auth).fetch))))
