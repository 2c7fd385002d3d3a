import { context as contextApi, ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';

/**
 * A synchronous context manager: `with(context, fn)` makes `context` active while `fn` runs
 * and restores the previous one after; nothing follows async continuations.
 *
 * Only for agentperf's own commands (`contextManagerFor('stack')`). Why not AsyncLocalStorage
 * there: on Node 20 an AsyncLocalStorage in use turns on promise hooks for every promise in the
 * process. Measured here on the standard workload (zero-latency simulator), that cost 25-35% of
 * throughput even with no span sampled. agentperf does not need ambient context: the core hands
 * the traced call along explicitly (attempt, retry and circuit messages carry it, and an agent
 * call keeps the context it was started in), and the Anthropic SDK reads the active context
 * only synchronously, when `messages.create()` starts its span. The attempt channel makes the
 * agent's context active exactly then (see `activeContextStore`).
 *
 * Never in someone else's process (`register`): an application's own spans must stay active
 * across its awaits, which only AsyncLocalStorage does.
 */
export class StackContextManager implements ContextManager {
  private current: Context = ROOT_CONTEXT;

  active(): Context {
    return this.current;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const previous = this.current;
    this.current = context;
    try {
      return fn.apply(thisArg as ThisParameterType<F>, args);
    } finally {
      this.current = previous;
    }
  }

  bind<T>(context: Context, target: T): T {
    if (typeof target !== 'function') return target;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the wrapper's own `this` is its caller's; the manager is kept apart
    const manager = this;
    return function (this: unknown, ...args: unknown[]) {
      return manager.with(context, () => (target as (...a: unknown[]) => unknown).apply(this, args));
    } as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.current = ROOT_CONTEXT;
    return this;
  }
}

/** agentperf's own commands: `stack` (above). An application's process: `async` (OpenTelemetry's AsyncLocalStorage manager). */
export type ContextManagerKind = 'stack' | 'async';

export function contextManagerFor(kind: ContextManagerKind): ContextManager {
  return kind === 'stack' ? new StackContextManager() : new AsyncLocalStorageContextManager();
}

/**
 * What TracingChannel.bindStore needs of a store (Node calls only `run`): runs the traced
 * function with a context active, through whichever context manager is registered.
 */
export const activeContextStore = {
  run<R>(context: Context, fn: (...args: unknown[]) => R, ...args: unknown[]): R {
    return contextApi.with(context, fn, undefined, ...args);
  },
};
