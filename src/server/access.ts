import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode } from '../errors.js';

/**
 * Who may call `agentperf serve`. Agent calls made with `--live` are paid with the server's API
 * key, so beyond loopback every route but `/healthz` needs the bearer token (and the server
 * refuses to start there without one, unless the operator insists). On loopback, a web page
 * can still reach the port through DNS rebinding (its own name resolving to 127.0.0.1), so the
 * `Host` header must name loopback.
 */
export interface AccessRules {
  /** The bearer token every request must carry (`Authorization: Bearer ...`); none: no token checked. */
  token?: string;
  /** The server listens on loopback only: requests must name a loopback host. */
  loopback: boolean;
  /** `/metrics` and `/stats` without the token (for a Prometheus that cannot send one). */
  publicMetrics: boolean;
}

/** Whether a bind address is loopback only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackAddress(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/** The host name of a Host header, without its port (`[::1]:8080` → `::1`). */
function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^\[([^\]]+)\](?::\d+)?$/.exec(header) ?? /^([^:]+)(?::\d+)?$/.exec(header);
  return match?.[1]?.toLowerCase();
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Compares a presented token with the expected one in constant time: both are hashed first,
 * so neither the content nor the length of the expected token leaks through timing.
 */
export function tokenMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

const OPEN_ROUTES = new Set(['/healthz']);
const METRICS_ROUTES = new Set(['/metrics', '/stats']);

/** The `onRequest` hook enforcing the rules; replies 403 or 401 with the error contract's body. */
export function accessHook(rules: AccessRules) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (rules.loopback) {
      const name = hostName(request.headers.host);
      // A loopback address, or a *.localhost name (RFC 6761: always loopback).
      const loopbackName = name !== undefined && (isLoopbackAddress(name) || name.endsWith('.localhost'));
      if (!loopbackName) {
        return reply.code(403).send({
          error: {
            code: ErrorCode.FORBIDDEN_HOST,
            message: `this server listens on loopback and answers only requests to a loopback host name (localhost, 127.0.0.1, [::1]), got Host ${JSON.stringify(request.headers.host ?? '')}`,
            field: 'host',
          },
        });
      }
    }
    if (rules.token === undefined) return;
    const path = request.url.split('?')[0];
    if (OPEN_ROUTES.has(path) || (rules.publicMetrics && METRICS_ROUTES.has(path))) return;
    const header = request.headers.authorization ?? '';
    const presented = /^Bearer (.+)$/i.exec(header)?.[1];
    if (presented === undefined || !tokenMatches(presented, rules.token)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({
          error: {
            code: ErrorCode.UNAUTHORIZED,
            message: presented === undefined ? 'this route needs the server token: Authorization: Bearer <token>' : 'the bearer token is not this server’s',
            field: 'authorization',
          },
        });
    }
  };
}
