import type { Knex } from 'knex';
import { inTransaction } from '../../src/db/transaction.js';
import { createUserQueries } from '../../src/db/users.js';
import { createUserIdentity } from '../../src/login/identity/user-identity.js';

/** The identity library on `knex`, wired as the composition wires it (src/composition/services.ts). */
export function userIdentityOn(knex: Knex, now?: () => Date) {
  return createUserIdentity({ users: createUserQueries(knex), transaction: (work) => inTransaction(knex, work), now });
}
