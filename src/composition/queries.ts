import type { Knex } from 'knex';
import { type EventLog, noEventLog } from '../db/event-log.js';
import { createApiTokenQueries } from '../db/api-tokens.js';
import { createDatabaseNonceStore } from '../db/callback-nonces.js';
import { createKnownDeviceQueries } from '../db/known-devices.js';
import { createLoginHistoryQueries } from '../db/login-history.js';
import { createLoginSceneQueries } from '../db/login-scenes.js';
import { createSingleUseTokenQueries } from '../db/single-use-tokens.js';
import { createSmsCodeQueries } from '../db/sms-codes.js';
import { createOutboxQueries } from '../db/outbox.js';
import { createConsoleQueries } from '../db/console-queries.js';
import { createUserSessionQueries } from '../db/user-sessions.js';
import { createUserQueries } from '../db/users.js';

/** Step 1 of the composition: every data-access factory, on one database. */
export function createQueries(knex: Knex, events: EventLog = noEventLog) {
  return {
    events,
    users: createUserQueries(knex, events),
    loginHistory: createLoginHistoryQueries(knex),
    apiTokens: createApiTokenQueries(knex),
    userSessions: createUserSessionQueries(knex, events),
    smsCodes: createSmsCodeQueries(knex),
    loginScenes: createLoginSceneQueries(knex, events),
    knownDevices: createKnownDeviceQueries(knex),
    singleUse: createSingleUseTokenQueries(knex),
    callbackNonces: createDatabaseNonceStore(knex),
    outbox: createOutboxQueries(knex),
    console: createConsoleQueries(knex, events),
  };
}

export type Queries = ReturnType<typeof createQueries>;
