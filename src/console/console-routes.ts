import type Koa from 'koa';
import { chinaOffsetMs, type ConsoleAction, type ConsoleQueries } from '../db/console-queries.js';
import type { OutboxQueries } from '../db/outbox.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import type { AppRouter } from '../http/context.js';
import { requireCsrf } from '../http/csrf.js';
import type { Render } from '../http/render.js';
import { describeDevice } from '../login/session/device-description.js';
import type { CurrentSession } from '../login/session/current-user.js';
import { lastBuckets, stackedBars } from './bar-chart.js';
import { adminOf, requireConsoleAdmin } from './console-access.js';

export interface ConsoleRouteDeps {
  consoleQueries: ConsoleQueries;
  outbox: Pick<OutboxQueries, 'countByState'>;
  currentSession: CurrentSession;
  render: Render;
  formBody: Koa.Middleware;
  /** SMS_PRICE_CNY: what one SMS costs, to show what the sent ones cost. */
  smsPriceCny?: number;
  now: () => number;
}

const hourMs = 60 * 60 * 1000;
const dayMs = 24 * hourMs;
const actions: readonly ConsoleAction[] = ['end-sessions', 'unbind-phone', 'block', 'unblock'];

/** "08:00", "12-07" in China time: the console's clock. */
const chinaTime = (ms: number) => new Date(ms + chinaOffsetMs).toISOString();
const hourLabel = (ms: number) => chinaTime(ms).slice(11, 16);
const dayLabel = (ms: number) => chinaTime(ms).slice(5, 10);

/**
 * The operator console: the dashboard (charts drawn on the server as SVG),
 * the user search, a user's page with its actions, and the log of actions.
 * Every route is behind requireConsoleAdmin; every action needs `_csrf`.
 */
export function consoleRoutes(router: AppRouter, deps: ConsoleRouteDeps): void {
  const { consoleQueries: queries, now } = deps;
  const admin = requireConsoleAdmin({ currentSession: deps.currentSession, now });

  router.get('/admin', admin, async (ctx) => {
    const at = now();
    const hours = lastBuckets(at, hourMs, 24);
    const days = lastBuckets(at, dayMs, 14);
    const [byHour, byDay, sms, funnel, confirmations, outbox] = await Promise.all([
      queries.loginsByTime(new Date(hours[0]), hourMs),
      queries.loginsByTime(new Date(days[0]), dayMs),
      queries.smsByTime(new Date(days[0]), dayMs),
      queries.funnel(at - dayMs),
      queries.confirmations(at - dayMs, at),
      deps.outbox.countByState(),
    ]);
    // Series named in the page's language: the way in, and "sent" or "refused: <reason>".
    const t = ctx.state.t as (key: string) => string;
    const methodNamed = (counts: typeof byHour) => counts.map((count) => ({ ...count, series: t(`method_${count.series}`) }));
    const smsNamed = sms.map((count) => ({ ...count, series: count.series === 'sent' ? t('adminSmsSent') : `${t('adminSmsRefused')} ${count.series.replace('refused: ', '')}` }));
    deps.render(ctx, 'admin/dashboard.njk', {
      nav: 'dashboard',
      loginsByHour: stackedBars(methodNamed(byHour), hours, hourLabel, 3),
      loginsByDay: stackedBars(methodNamed(byDay), days, dayLabel, 2),
      sms: stackedBars(smsNamed, days, dayLabel, 2),
      funnel: funnelBars(funnel),
      smsCost: smsCost(sms, deps.smsPriceCny),
      confirmations,
      outbox,
    });
  });

  router.get('/admin/users', admin, async (ctx) => {
    const q = typeof ctx.query.q === 'string' ? ctx.query.q.slice(0, 128) : '';
    deps.render(ctx, 'admin/users.njk', { nav: 'users', q, users: q ? await queries.searchUsers(q) : undefined });
  });

  router.get('/admin/users/:id', admin, async (ctx) => {
    const user = await userOf(ctx.params.id);
    const activity = await queries.userActivity(user.id);
    deps.render(ctx, 'admin/user.njk', {
      nav: 'users',
      user,
      logins: activity.logins.map((login) => ({ ...login, ...describeDevice(login.userAgent, login.ip) })),
      sessions: activity.sessions.map((session) => ({ ...session, ...describeDevice(session.userAgent, session.ip), live: session.endedAt === null })),
      devices: activity.devices,
      grants: activity.grants,
      webhooks: activity.webhooks,
      actions: await queries.listActions(20, user.id),
      done: typeof ctx.query.done === 'string' && (actions as readonly string[]).includes(ctx.query.done) ? ctx.query.done : undefined,
    });
  });

  router.post('/admin/users/:id/:action', admin, deps.formBody, requireCsrf, async (ctx) => {
    const action = ctx.params.action as ConsoleAction;
    if (!actions.includes(action)) throw new NotFoundError();
    const user = await userOf(ctx.params.id);
    if (action === 'block' && user.id === adminOf(ctx).user.id) throw new BadRequestError('an admin cannot block themselves');
    const done = await queries.act(action, user.id, { adminUserId: adminOf(ctx).user.id, ip: ctx.ip, now: new Date(now()) });
    ctx.status = 303;
    ctx.redirect(`/admin/users/${user.id}${done ? `?done=${action}` : ''}`);
  });

  router.get('/admin/log', admin, async (ctx) => {
    deps.render(ctx, 'admin/log.njk', { nav: 'log', actions: await queries.listActions(200) });
  });

  async function userOf(id: string) {
    const user = /^\d{1,12}$/.test(id) ? await queries.findUser(Number(id)) : undefined;
    if (!user) throw new NotFoundError();
    return user;
  }
}

/** The SMS sent over the chart's days and, with a price, what they cost (CNY, two decimals). */
function smsCost(counts: { series: string; count: number }[], priceCny: number | undefined) {
  const sent = counts.filter((count) => count.series === 'sent').reduce((sum, count) => sum + count.count, 0);
  return { sent, cost: priceCny === undefined ? undefined : (sent * priceCny).toFixed(2) };
}

/** The funnel as horizontal bars: each stage's width relative to the codes shown, with its share. */
function funnelBars(funnel: { shown: number; scanned: number; confirmed: number; loggedIn: number }) {
  const stages = [
    ['funnelShown', funnel.shown],
    ['funnelScanned', funnel.scanned],
    ['funnelApproved', funnel.confirmed],
    ['funnelLoggedIn', funnel.loggedIn],
  ] as const;
  const top = Math.max(1, funnel.shown);
  return stages.map(([key, count], index) => ({
    key,
    count,
    y: index * 36,
    width: Math.round((count / top) * 460 * 10) / 10,
    percent: funnel.shown > 0 ? Math.round((count / funnel.shown) * 100) : 0,
  }));
}

