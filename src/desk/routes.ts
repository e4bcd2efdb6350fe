/**
 * The desk's HTTP face, an express router mounted at /desk (as bull-board mounts in a host app). Every route but
 * sign-in and the static files needs a session: a page answers 401 with the sign-in form, the JSON API 401 JSON.
 * State-changing requests need the session's CSRF token (form field or x-csrf-token header) and a same-origin
 * Origin when the browser sends one; the cookie is HttpOnly and SameSite=Strict.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../telemetry/logger';
import type { Repository, QueueFilter } from './repository';
import { ALERT_TYPES } from './repository';
import { verifyPassword, type DeskUser } from './users';
import type { DecisionOutcome } from './decide';
import { alertPage, cardPage, errorPage, loginPage, pointsPage, queueList, queuePage, rulesPage, type QueueView, type Viewer } from './views/pages';
import type { Html } from './views/html';

export interface DeskRouteOptions {
  repo: Repository;
  users: () => DeskUser[];
  logger: Logger;
  sessionHours: number;
  secureCookie: boolean;
  thresholds: { review: number; block: number };
  rulesVersion: () => string;
  decide(alertId: string, decision: string, viewer: Viewer): Promise<DecisionOutcome>;
}

const COOKIE = 'desk_session';
const PAGE_SIZE = 100;
const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

function cookieValue(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

const sameText = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** A browser names the page that sent a POST; one from another site is refused even before the token check. */
function sameOrigin(req: Request): boolean {
  const origin = req.get('origin');
  if (!origin || origin === 'null') return origin !== 'null';
  try {
    return new URL(origin).host === req.get('host');
  } catch {
    return false;
  }
}

const str = (v: unknown) => (typeof v === 'string' && v.length <= 200 ? v : undefined);

export function parseFilter(query: Record<string, unknown>): QueueFilter {
  const filter: QueueFilter = {};
  const type = str(query.type);
  if (type && (ALERT_TYPES as readonly string[]).includes(type)) filter.type = type;
  const action = str(query.action);
  if (action === 'review' || action === 'block') filter.action = action;
  const reason = str(query.reason);
  if (reason && /^[A-Za-z0-9_.:-]{1,80}$/.test(reason)) filter.reason = reason;
  for (const key of ['from', 'until'] as const) {
    const value = str(query[key]);
    if (value && !Number.isNaN(Date.parse(value.length === 16 ? `${value}Z` : value))) filter[key] = value;
  }
  const status = str(query.status);
  if (status && ['open', 'closed', 'superseded', 'all'].includes(status)) filter.status = status;
  return filter;
}

/** datetime-local inputs carry no zone: the desk shows UTC, so it reads them as UTC. */
function asUtc(filter: QueueFilter): QueueFilter {
  const out = { ...filter };
  for (const key of ['from', 'until'] as const) if (out[key] && out[key]!.length === 16) out[key] = `${out[key]}:00Z`;
  return out;
}

export function createDeskRouter(options: DeskRouteOptions): express.Router {
  const { repo, logger } = options;
  const router = express.Router();
  const staticDir = join(__dirname, 'static');
  const assets: Record<string, { type: string; body: string }> = {
    'desk.css': { type: 'text/css; charset=utf-8', body: readFileSync(join(staticDir, 'desk.css'), 'utf8') },
    'desk.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(join(staticDir, 'desk.js'), 'utf8') },
  };
  const send = (res: Response, status: number, page: Html) => res.status(status).type('html').send(page.value);
  const form = express.urlencoded({ extended: false, limit: '16kb' });

  router.use((_req, res, next) => {
    // the desk's own files only: no inline script, no framing, no referrer leaking alert ids
    res.set('Content-Security-Policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'");
    res.set('X-Content-Type-Options', 'nosniff');
    res.set('Referrer-Policy', 'same-origin');
    res.set('Cache-Control', 'no-store');
    next();
  });

  router.get('/static/:file', (req, res) => {
    const asset = assets[req.params.file];
    if (!asset) return res.status(404).end();
    return res.type(asset.type).set('Cache-Control', 'max-age=300').send(asset.body);
  });

  router.get('/login', (req, res) => send(res, 200, loginPage({ next: safeNext(req.query.next) })));

  router.post('/login', form, async (req: Request, res: Response, next: NextFunction) => {
    try {
      if (!sameOrigin(req)) return res.status(403).type('text').send('cross-site sign-in refused');
      const name = str(req.body?.user) ?? '';
      const password = typeof req.body?.password === 'string' ? req.body.password.slice(0, 1024) : '';
      const user = options.users().find((u) => u.name === name);
      // a missing user costs the same scrypt as a wrong password, so timing does not tell which names exist
      const ok = user ? await verifyPassword(password, user.hash) : (await verifyPassword(password, DUMMY_HASH), false);
      if (!user || !ok) {
        logger.warn({ user: name.slice(0, 64) }, 'desk sign-in refused');
        return send(res, 401, loginPage({ next: safeNext(req.body?.next), error: 'Unknown user or wrong password.' }));
      }
      const token = randomBytes(32).toString('base64url');
      await repo.createSession({
        tokenHash: hashToken(token),
        userName: user.name,
        userRole: user.role,
        csrfToken: randomBytes(24).toString('base64url'),
        expiresAt: new Date(Date.now() + options.sessionHours * 3_600_000),
      });
      logger.info({ user: user.name, role: user.role }, 'desk sign-in');
      res.cookie(COOKIE, token, { httpOnly: true, sameSite: 'strict', secure: options.secureCookie, path: '/desk', maxAge: options.sessionHours * 3_600_000 });
      return res.redirect(303, safeNext(req.body?.next));
    } catch (error) {
      return next(error);
    }
  });

  // everything below needs a session
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    try {
      const token = cookieValue(req, COOKIE);
      const session = token ? await repo.session(hashToken(token)) : undefined;
      if (!session) {
        if (req.path.startsWith('/api/')) return res.status(401).json({ error: 'sign in at /desk/login' });
        return send(res, 401, loginPage({ next: `/desk${req.path}` }));
      }
      res.locals.viewer = { name: session.user_name, role: session.user_role, csrf: session.csrf_token } satisfies Viewer;
      res.locals.tokenHash = hashToken(token!);
      return next();
    } catch (error) {
      return next(error);
    }
  });

  const checkCsrf = (req: Request, res: Response, next: NextFunction) => {
    const viewer = res.locals.viewer as Viewer;
    const given = str(req.body?._csrf) ?? req.get('x-csrf-token') ?? '';
    if (!sameOrigin(req) || !sameText(given, viewer.csrf)) return res.status(403).type('html').send(errorPage(viewer, 403, 'This form has expired or came from another site. Reload the page and try again.').value);
    return next();
  };

  router.post('/logout', form, checkCsrf, async (_req, res, next) => {
    try {
      await repo.deleteSession(res.locals.tokenHash as string);
      res.clearCookie(COOKIE, { path: '/desk' });
      res.redirect(303, '/desk/login');
    } catch (error) {
      next(error);
    }
  });

  async function queueView(query: Record<string, unknown>): Promise<QueueView> {
    const filter = parseFilter(query);
    const sqlFilter = asUtc(filter);
    const page = Math.max(1, Math.min(1000, Number(query.page) || 1));
    const [rows, counts] = [await repo.queue(sqlFilter, PAGE_SIZE, (page - 1) * PAGE_SIZE), await repo.counts(sqlFilter)];
    const latest = { n: counts.total, at: counts.latest };
    const partial = query.partial !== undefined;
    return {
      filter,
      rows,
      counts,
      reasonCodes: partial ? [] : await repo.reasonCodes(),
      perHour: partial ? [] : await repo.alertsPerHour(24),
      scores: partial ? [] : await repo.scoreHistogram(),
      thresholds: options.thresholds,
      version: `${latest.n}:${latest.at?.toISOString() ?? ''}:${page}`,
      page,
      pageSize: PAGE_SIZE,
    };
  }

  const page = (handler: (req: Request, res: Response, viewer: Viewer) => Promise<void>) => async (req: Request, res: Response, next: NextFunction) => {
    try {
      await handler(req, res, res.locals.viewer as Viewer);
    } catch (error) {
      next(error);
    }
  };

  router.get(
    '/',
    page(async (req, res, viewer) => {
      const view = await queueView(req.query);
      send(res, 200, req.query.partial !== undefined ? queueList(view) : queuePage(viewer, view));
    }),
  );

  router.get(
    '/api/queue-version',
    page(async (req, res) => {
      const filter = asUtc(parseFilter(req.query));
      const latest = await repo.latestIngest(filter);
      const pageNo = Math.max(1, Math.min(1000, Number(req.query.page) || 1));
      res.json({ version: `${latest.n}:${latest.at?.toISOString() ?? ''}:${pageNo}` });
    }),
  );

  router.get(
    '/api/alerts',
    page(async (req, res) => {
      const filter = asUtc(parseFilter(req.query));
      const limit = Math.max(1, Math.min(500, Number(req.query.limit) || 100));
      res.json({ alerts: await repo.queue(filter, limit), counts: await repo.counts(filter) });
    }),
  );

  router.get(
    '/api/alerts/:id',
    page(async (req, res) => {
      const alert = await repo.alert(String(req.params.id));
      if (!alert) {
        res.status(404).json({ error: 'no such alert' });
        return;
      }
      res.json({ alert, audit: await repo.audit(alert.alert_id), timeline: alert.card_token ? await repo.timeline(alert.card_token) : [] });
    }),
  );

  router.get(
    '/alerts/:id',
    page(async (req, res, viewer) => {
      const alert = await repo.alert(String(req.params.id));
      if (!alert) return void send(res, 404, errorPage(viewer, 404, 'No such alert (retention may have removed it).'));
      const token = alert.card_token;
      send(
        res,
        200,
        alertPage(viewer, {
          alert,
          timeline: token ? await repo.timeline(token) : [],
          cardAlerts: token ? await repo.cardAlerts(token) : [],
          labels: token ? await repo.cardLabels(token) : [],
          audit: await repo.audit(alert.alert_id),
          exposed: alert.type === 'compromised-point' && alert.point_id ? await repo.exposedCards(alert.point_id) : [],
          notice: noticeText(str(req.query.done)),
        }),
      );
    }),
  );

  router.post(
    '/alerts/:id/decision',
    form,
    checkCsrf,
    page(async (req, res, viewer) => {
      if (viewer.role !== 'analyst') return void send(res, 403, errorPage(viewer, 403, 'Only analysts decide alerts.'));
      const id = String(req.params.id);
      const outcome = await options.decide(id, str(req.body?.decision) ?? '', viewer);
      if (outcome.status === 'not-found') return void send(res, 404, errorPage(viewer, 404, 'No such alert.'));
      if (outcome.status === 'invalid') return void send(res, 400, errorPage(viewer, 400, outcome.message));
      // post/redirect/get: a reload of the answer does not send the decision again
      res.redirect(303, `/desk/alerts/${encodeURIComponent(id)}?done=${outcome.status}`);
    }),
  );

  router.get(
    '/cards/:token',
    page(async (req, res, viewer) => {
      const token = String(req.params.token);
      if (!/^[0-9a-f]{64}$/.test(token)) return void send(res, 400, errorPage(viewer, 400, 'Not a card token.'));
      send(res, 200, cardPage(viewer, token, await repo.timeline(token, 500), await repo.cardAlerts(token)));
    }),
  );

  router.get(
    '/points',
    page(async (req, res, viewer) => {
      const status = ['open', 'closed', 'all'].includes(String(req.query.status)) ? String(req.query.status) : 'open';
      send(res, 200, pointsPage(viewer, await repo.points(status), status));
    }),
  );

  router.get(
    '/rules',
    page(async (_req, res, viewer) => {
      const perDay = await repo.ruleHitsPerDay(14);
      const days = [...new Set(perDay.map((r) => r.day))].sort();
      const hits = new Map<string, number[]>();
      for (const r of perDay) {
        const series = hits.get(r.code) ?? new Array<number>(days.length).fill(0);
        series[days.indexOf(r.day)] = r.hits;
        hits.set(r.code, series);
      }
      send(res, 200, rulesPage(viewer, { rulesVersion: options.rulesVersion(), versionsSeen: await repo.rulesVersions(), days, hits, outcomes: await repo.ruleOutcomes() }));
    }),
  );

  router.use((_req, res) => send(res, 404, errorPage(res.locals.viewer as Viewer | undefined, 404, 'Not found.')));
  return router;
}

function noticeText(done: string | undefined): string | undefined {
  if (done === 'recorded') return 'Decision recorded.';
  if (done === 'labelled') return 'Decision recorded and the label published.';
  if (done === 'duplicate') return 'This decision was already recorded: nothing was sent again.';
  return undefined;
}

/** Only paths inside the desk: a sign-in link cannot send the analyst to another site. */
function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/desk(\/[A-Za-z0-9._~%/-]*)?$/.test(next) && !next.includes('//') ? next : '/desk/';
}

// a valid hash of a random password, checked when the user does not exist
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
