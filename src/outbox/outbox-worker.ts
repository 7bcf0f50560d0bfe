import type { OutboxMessage, OutboxQueries } from '../db/outbox.js';
import type { Logger } from '../logging/logger.js';

/**
 * Sends one message of a channel. Resolves when the target took it, or with
 * `dropped` when the target no longer exists (a client or hook removed from
 * the configuration); throws when this attempt failed and a later one may not.
 */
export type Deliver = (message: OutboxMessage) => Promise<'delivered' | 'dropped'>;

export interface OutboxWorkerDeps {
  outbox: OutboxQueries;
  /** How each channel sends; a message of a channel not here is left for an instance that sends it. */
  channels: Record<string, Deliver>;
  /** Counts each attempt's outcome, by channel. */
  countAttempt?(channel: string, outcome: 'delivered' | 'dropped' | 'retry' | 'failed'): void;
  logger: Logger;
  now: () => number;
  /** How often the outbox is read for due messages (also across instances). */
  pollIntervalMs?: number;
}

/** How long a claimed message is this instance's: longer than any delivery's own timeout. */
const leaseMs = 60_000;
/** Messages claimed per round and sent at once; a slow target holds only its own messages. */
const batchSize = 20;
/** Sends under way to one target from this instance, at most: a dead hook's backlog takes no one else's turn. */
const perTarget = 8;
/** Retries for a day (CONTRACT.md), then the message is `failed` and `npm run admin -- webhooks` lists it. */
const giveUpAfterMs = 24 * 60 * 60 * 1000;

/** Wait before attempt n+1 after n failures: 10 s, doubling, at most an hour (about 30 attempts in the day). */
function retryDelayMs(failures: number): number {
  return Math.min(10_000 * 2 ** Math.max(0, failures - 1), 60 * 60 * 1000);
}

/**
 * Sends what the outbox holds, from every instance at once: each round
 * claims due messages (outbox.ts makes one instance win each), sends them
 * concurrently without waiting for the round's slowest, and records the
 * outcome. A message that fails waits `retryDelayMs`, keeping its id; after
 * a day of failures it is given up. Nothing here runs inside a login.
 */
export function createOutboxWorker(deps: OutboxWorkerDeps) {
  const { outbox, channels, logger, now } = deps;
  const sending = new Set<number>();
  const sendingTo = new Map<string, number>();
  const targetOf = (message: OutboxMessage) => `${message.channel}\u0000${message.target}`;
  const inFlight = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let round: Promise<void> | undefined;

  async function send(message: OutboxMessage): Promise<void> {
    const deliver = channels[message.channel];
    let outcome: 'delivered' | 'dropped';
    try {
      outcome = await deliver(message);
    } catch (failure) {
      const error = (failure as Error).message || String(failure);
      const at = now();
      if (at - message.createdAtMs >= giveUpAfterMs) {
        await outbox.finish(message.id, 'failed', at, error);
        deps.countAttempt?.(message.channel, 'failed');
        logger.warn('outbox message given up', { channel: message.channel, target: message.target, id: message.id, attempts: message.attempts, error });
      } else {
        await outbox.retryLater(message.id, at + retryDelayMs(message.attempts), error);
        deps.countAttempt?.(message.channel, 'retry');
        logger.info('outbox message will be retried', { channel: message.channel, target: message.target, id: message.id, attempts: message.attempts, error });
      }
      return;
    }
    // Sent: should recording it fail, the lease lapses and it is sent again (at least once), never counted as a failure.
    await outbox.finish(message.id, outcome, now());
    deps.countAttempt?.(message.channel, outcome);
  }

  /** One round: claims what is due and starts sending it. Resolves once claimed (not sent). */
  async function claimAndSend(): Promise<void> {
    const at = now();
    const claimed = await outbox.claimDue(Object.keys(channels), at, at + leaseMs, batchSize, sending, sendingTo, perTarget);
    for (const message of claimed) {
      sending.add(message.id);
      sendingTo.set(targetOf(message), (sendingTo.get(targetOf(message)) ?? 0) + 1);
      const done = send(message)
        .catch((error: Error) => logger.error('outbox could not record a delivery', { id: message.id, error: error.message }))
        .finally(() => {
          sending.delete(message.id);
          const left = (sendingTo.get(targetOf(message)) ?? 1) - 1;
          if (left > 0) sendingTo.set(targetOf(message), left);
          else sendingTo.delete(targetOf(message));
          // A slot is free: what waits is claimed now, not at the next tick (a busy hook is not held to 8 a second).
          if (running) void poke();
          inFlight.delete(done);
        });
      inFlight.add(done);
    }
  }

  /** Runs a round unless one is running; never rejects. */
  function poke(): Promise<void> {
    round ??= claimAndSend()
      .catch((error: Error) => logger.warn('could not read the outbox', { error: error.message }))
      .finally(() => {
        round = undefined;
      });
    return round;
  }

  return {
    start() {
      running = true;
      timer ??= setInterval(poke, deps.pollIntervalMs ?? 1000);
      timer.unref();
    },
    /** A round now (after a change wrote messages, or from a test that moved its clock). */
    poke,
    /**
     * A round that reads the outbox now, then every send it (and the rounds
     * those sends start) began, until nothing more is due: what tests await
     * after moving their clock, instead of sleeping.
     */
    async runOnce(): Promise<void> {
      // A round begun earlier read the outbox at an earlier time.
      await round;
      await poke();
      while (inFlight.size > 0 || round) {
        await Promise.all([...inFlight]);
        await round;
      }
    },
    /** Stops polling and waits for the sends under way. */
    async close(): Promise<void> {
      running = false;
      if (timer) clearInterval(timer);
      timer = undefined;
      await round;
      await Promise.all([...inFlight]);
    },
  };
}

export type OutboxWorker = ReturnType<typeof createOutboxWorker>;
