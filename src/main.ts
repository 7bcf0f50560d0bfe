import { loadEnvFile } from './db/env-file.js';
import { runMain } from './server.js';

// `npm start` (and `node dist/main.js`): the server, as configured by the environment and the root's .env.
loadEnvFile();
runMain();
