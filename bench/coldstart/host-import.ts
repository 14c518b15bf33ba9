/** Imports the whole host (express app, SDK, pino, prom-client) and exits: spawn-to-exit minus an empty script. */
import { createHostApp } from '../../shared/server/app.js';

if (typeof createHostApp !== 'function') process.exitCode = 1;
