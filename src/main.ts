import 'dotenv/config';
import { runMain } from './server.js';

// `npm start` (and `node dist/main.js`): the server, as configured by the environment and .env.
runMain();
