/**
 * The HTTP face of the service: liveness, readiness, Prometheus metrics, and the JSON API (embedded ingestion,
 * recent alerts, the active rules and model). Thin: every answer comes from the `HttpServices` it is given.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { timingSafeEqual } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { IngestResult } from '../scoring/embedded';
import type { Logger } from '../telemetry/logger';

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, boolean>;
}

export type { IngestResult };

export interface HttpServices {
  logger: Logger;
  registry: Registry;
  /** Liveness: false only when the process is broken beyond repair (a restart is the cure). */
  alive(): boolean;
  readiness(): Promise<ReadinessReport>;
  /** Embedded mode only: scores a JSON array or NDJSON body of v1 transactions. */
  ingest?(body: string): Promise<IngestResult>;
  /** Embedded mode only: records a JSON array or NDJSON body of v1 labels. */
  ingestLabels?(body: string): Promise<IngestResult>;
  recentAlerts(limit: number): unknown[];
  rules(): unknown;
  model(): unknown;
  /** Unset: admin views are open (embedded mode); set: they need `Authorization: Bearer <token>`. */
  adminToken?: string;
  /** Admin views are closed when no token is configured outside the embedded mode. */
  adminOpen: boolean;
  maxBodyBytes: number;
  /** The fraud desk's router, mounted at /desk (it does its own sign-in). */
  desk?: express.Router;
}

export function createHttpApp(services: HttpServices): express.Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', (_req, res) => {
    const alive = services.alive();
    res.status(alive ? 200 : 500).json({ status: alive ? 'ok' : 'broken' });
  });

  app.get('/readyz', async (_req, res) => {
    const report = await services.readiness();
    res.status(report.ready ? 200 : 503).json(report);
  });

  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', services.registry.contentType);
    res.send(await services.registry.metrics());
  });

  const requireAdmin = (req: Request, res: Response, next: NextFunction) => {
    if (services.adminToken === undefined) {
      if (services.adminOpen) return next();
      return res.status(403).json({ error: 'admin endpoints are disabled: set ADMIN_TOKEN' });
    }
    const given = Buffer.from(/^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1] ?? '');
    const expected = Buffer.from(services.adminToken);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return res.status(401).json({ error: 'bearer token required' });
    return next();
  };

  app.get('/v1/alerts', requireAdmin, (req, res) => {
    const limit = Math.min(1000, Math.max(1, Number(req.query.limit) || 100));
    res.json({ alerts: services.recentAlerts(limit) });
  });
  app.get('/v1/rules', requireAdmin, (_req, res) => res.json(services.rules()));
  app.get('/v1/model', requireAdmin, (_req, res) => res.json(services.model()));

  const bodyRoute = (path: string, handle: (body: string) => Promise<IngestResult>) =>
    app.post(path, express.text({ type: () => true, limit: services.maxBodyBytes }), async (req: Request, res: Response, next: NextFunction) => {
      try {
        const result = await handle(typeof req.body === 'string' ? req.body : '');
        res.status(result.status).json(result.body);
      } catch (error) {
        next(error);
      }
    });
  if (services.ingest) bodyRoute('/v1/transactions', services.ingest);
  if (services.ingestLabels) bodyRoute('/v1/labels', services.ingestLabels);

  if (services.desk) app.use('/desk', services.desk);

  app.use((_req, res) => res.status(404).json({ error: 'not found' }));
  // Express error handler: the four-argument signature is how express recognises it.
  app.use((error: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    if (error.status && error.status < 500) return res.status(error.status).json({ error: error.type ?? error.message });
    services.logger.error({ err: error }, 'HTTP request failed');
    return res.status(500).json({ error: 'internal error' });
  });
  return app;
}
