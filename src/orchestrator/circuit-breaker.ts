import type { Clock } from '../clock.js';
import { CircuitOpenError, TimeoutError, UpstreamError } from '../errors.js';

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long it stays open before one probe is let through. */
  cooldownMs: number;
}

export const DEFAULT_CIRCUIT_OPTIONS: CircuitBreakerOptions = { failureThreshold: 5, cooldownMs: 30_000 };

/**
 * Failures that say the upstream is unwell: 5xx (529 included), connection failures and
 * attempt timeouts. 429 is the upstream working as designed (a quota), and 4xx are our fault,
 * so neither opens the circuit.
 */
export function countsAsFailure(error: unknown): boolean {
  if (error instanceof UpstreamError) return error.status === undefined || error.status >= 500;
  return error instanceof TimeoutError && error.kind === 'attempt';
}

/**
 * One per model. closed -> (threshold failures) -> open -> (cooldown) -> half-open: one probe.
 * Each call may name a `cause` (opaque here: the orchestrator passes the traced call whose
 * attempt it is judging); a transition hands it to `onTransition`, so the change can be told
 * to the right call.
 */
export class CircuitBreaker {
  private current: CircuitState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probing = false;

  constructor(
    readonly model: string,
    private readonly options: CircuitBreakerOptions,
    private readonly clock: Clock,
    private readonly onTransition: (model: string, from: CircuitState, to: CircuitState, cause: unknown) => void = () => {},
  ) {}

  get state(): CircuitState {
    return this.current;
  }

  /** Throws CircuitOpenError when no attempt may go out now; otherwise admits it. */
  admit(cause?: unknown): void {
    if (this.current === 'closed') return;
    const sinceOpen = this.clock.now() - this.openedAt;
    if (this.current === 'open') {
      if (sinceOpen < this.options.cooldownMs) throw new CircuitOpenError(this.model, this.options.cooldownMs - sinceOpen);
      this.moveTo('half-open', cause);
    }
    if (this.probing) throw new CircuitOpenError(this.model, 0);
    this.probing = true;
  }

  onSuccess(cause?: unknown): void {
    this.failures = 0;
    this.probing = false;
    if (this.current !== 'closed') this.moveTo('closed', cause);
  }

  /** Records the outcome of an admitted attempt that failed. */
  onFailure(error: unknown, cause?: unknown): void {
    const wasProbe = this.probing;
    this.probing = false;
    if (!countsAsFailure(error)) {
      // The upstream answered (4xx) or we gave up ourselves: not a sign of ill health.
      if (wasProbe && this.current === 'half-open' && error instanceof UpstreamError) this.moveTo('closed', cause);
      return;
    }
    this.failures++;
    if (this.current === 'half-open' || this.failures >= this.options.failureThreshold) {
      this.openedAt = this.clock.now();
      if (this.current !== 'open') this.moveTo('open', cause);
    }
  }

  private moveTo(next: CircuitState, cause: unknown): void {
    const from = this.current;
    this.current = next;
    if (next === 'closed') this.failures = 0;
    this.onTransition(this.model, from, next, cause);
  }
}
