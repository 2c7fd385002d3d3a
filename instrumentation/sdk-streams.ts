import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from '../src/logger.js';
import { MeteredSpan } from './sdk-calls.js';

/** What of the SDK's `APIPromise` class (`@anthropic-ai/sdk/core/api-promise`) is wrapped: how it parses a traced call's body. */
interface SdkPromiseClass {
  prototype: { parseResponseTraced?: (this: unknown, props: ParseProps) => Promise<unknown> };
}

interface ParseProps {
  options?: { stream?: unknown; __span?: { span?: unknown } };
}

const WRAPPED = Symbol.for('agentperf.sdk-stream-metered');

/**
 * Time per output chunk for an application's own SDK streams (under `register`). The SDK's
 * tracing says when the first chunk came and what the stream used, but nothing per event. The
 * SDK parses a traced call's body knowing its span (`options.__span`): for a streamed body that
 * span is agentperf's metered one, and the stream's reading is given a step that tells the span
 * of every delta the application reads. Nothing else changes: the events, their order, errors
 * and cancellation are the SDK's own.
 */
export function meterPromiseClass(promiseClass: SdkPromiseClass): boolean {
  const proto = promiseClass.prototype as SdkPromiseClass['prototype'] & { [WRAPPED]?: true };
  const original = proto.parseResponseTraced;
  if (proto[WRAPPED] || typeof original !== 'function') return false;
  proto.parseResponseTraced = async function (this: unknown, props: ParseProps) {
    const data = await original.call(this, props);
    const span = props.options?.__span?.span;
    const stream = data as { iterator?: (this: unknown) => AsyncIterator<{ type?: unknown }> } | null;
    if (props.options?.stream && span instanceof MeteredSpan && typeof stream?.iterator === 'function') {
      const iterate = stream.iterator;
      stream.iterator = function (this: unknown) {
        const source = iterate.call(this);
        return {
          async next() {
            const step = await source.next();
            if (!step.done && step.value?.type === 'content_block_delta') span.chunk();
            return step;
          },
          return: (value?: unknown) => source.return?.(value) ?? Promise.resolve({ value: undefined, done: true as const }),
          throw: (error?: unknown) => source.throw?.(error) ?? Promise.reject(error),
          [Symbol.asyncIterator]() {
            return this;
          },
        };
      };
    }
    return data;
  };
  proto[WRAPPED] = true;
  return true;
}

/**
 * Meters the SDK's `APIPromise` class wherever the application may load it: as the application
 * resolves `@anthropic-ai/sdk` (from its entry script's directory and the working directory) and
 * as agentperf does, in its CommonJS and its ES module build (one package ships both; an
 * application gets one or the other). Found nowhere: nothing to meter.
 */
export async function meterSdkStreams(from: readonly string[], log: Logger): Promise<number> {
  const paths = new Set<string>();
  for (const dir of from) {
    try {
      paths.add(createRequire(join(dir, 'noop.js')).resolve('@anthropic-ai/sdk/core/api-promise'));
    } catch {
      // Not resolvable from there.
    }
  }
  try {
    paths.add(createRequire(import.meta.url).resolve('@anthropic-ai/sdk/core/api-promise'));
  } catch {
    // agentperf's own copy is missing: nothing more to find.
  }
  let metered = 0;
  for (const path of paths) {
    for (const load of [
      () => createRequire(import.meta.url)(path) as { APIPromise?: SdkPromiseClass },
      () => import(pathToFileURL(path.replace(/\.js$/, '.mjs')).href) as Promise<{ APIPromise?: SdkPromiseClass }>,
    ]) {
      try {
        const { APIPromise } = await load();
        if (APIPromise && meterPromiseClass(APIPromise)) metered++;
      } catch (error) {
        log.debug({ err: error, path }, "could not meter this build of the SDK's APIPromise");
      }
    }
  }
  return metered;
}
