import type { AppMiddleware } from './context.js';

/** While shutting down, no connection is kept alive: clients reconnect to a live instance. */
export function closeConnectionsWhileDraining(isDraining: () => boolean): AppMiddleware {
  return async (ctx, next) => {
    await next();
    if (isDraining()) ctx.set('Connection', 'close');
  };
}
