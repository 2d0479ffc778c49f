import express from 'express'
import { startExpress } from './express-app.js'
import { runConformance } from './suite.js'

runConformance('express', (auth) => startExpress(express, auth))
