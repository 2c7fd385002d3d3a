import { AsyncLocalStorage } from 'node:async_hooks';
import { ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';

/**
 * The OpenTelemetry context lives in this AsyncLocalStorage. The tracing subscriber binds it to
 * the agent channel's start event (TracingChannel.bindStore), so the agent span is the active
 * context while the call runs, and the Anthropic SDK's own gen_ai spans nest under it.
 */
export const contextStorage = new AsyncLocalStorage<Context>();

export class StorageContextManager implements ContextManager {
  active(): Context {
    return contextStorage.getStore() ?? ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const callback = thisArg == null ? fn : fn.bind(thisArg);
    return contextStorage.run(context, callback as never, ...args) as ReturnType<F>;
  }

  bind<T>(context: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const manager = this;
    return function (this: unknown, ...args: unknown[]) {
      return manager.with(context, () => (target as (...a: unknown[]) => unknown).apply(this, args));
    } as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    contextStorage.disable();
    return this;
  }
}
