import { createServer } from 'node:http'
import { getRequestListener } from '@hono/node-server'
import { fetchApp } from './fetch-app.js'
import { listen, runConformance } from './suite.js'

// @hono/node-server is used only as a fetch-to-Node bridge here; the handler knows nothing of Hono.
runConformance('fetch', (auth) => listen(createServer(getRequestListener(fetchApp(auth)))))
