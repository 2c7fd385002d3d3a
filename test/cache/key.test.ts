import test from 'ava';
import { canonicalRequest, requestKey } from '../../src/cache/key.ts';
import type { MessageParams } from '../../src/providers/types.ts';

const scope = { namespace: 'tenant-a', provider: 'anthropic', agentVersion: 1 };
const params: MessageParams = {
  model: 'claude-haiku-4-5',
  max_tokens: 100,
  temperature: 0.2,
  system: 'be brief',
  stop_sequences: ['END'],
  messages: [{ role: 'user', content: 'hello' }],
};

test('the key is the SHA-256 (64 hex) of the documented canonical array', (t) => {
  const canonical = canonicalRequest(scope, params);
  t.deepEqual(JSON.parse(canonical), ['agentperf-key-v1', 'tenant-a', 'anthropic', 1, 'claude-haiku-4-5', 'be brief', [['user', 'hello']], 0.2, 100, ['END']]);
  t.regex(requestKey(scope, params), /^[0-9a-f]{64}$/);
  // Known value (sha256 of the canonical JSON, computed independently with Python's hashlib),
  // so an accidental change of the encoding cannot pass unnoticed.
  t.is(requestKey(scope, params), '9413d75648f81a9a4e44c165c2ad31aebeb65cf1fecaa15a60ec6304d06aa2a9');
});

const changes: Array<[string, () => string]> = [
  ['namespace', () => requestKey({ ...scope, namespace: 'tenant-b' }, params)],
  ['provider', () => requestKey({ ...scope, provider: 'simulator' }, params)],
  ['agent version', () => requestKey({ ...scope, agentVersion: 2 }, params)],
  ['model', () => requestKey(scope, { ...params, model: 'claude-opus-4-6' })],
  ['system prompt', () => requestKey(scope, { ...params, system: 'be verbose' })],
  ['task', () => requestKey(scope, { ...params, messages: [{ role: 'user', content: 'hello!' }] })],
  ['role', () => requestKey(scope, { ...params, messages: [{ role: 'assistant', content: 'hello' }] })],
  ['temperature', () => requestKey(scope, { ...params, temperature: 0.3 })],
  ['temperature left out', () => requestKey(scope, { ...params, temperature: undefined })],
  ['max_tokens', () => requestKey(scope, { ...params, max_tokens: 101 })],
  ['stop sequences', () => requestKey(scope, { ...params, stop_sequences: ['STOP'] })],
  ['a field boundary moved', () => requestKey(scope, { ...params, system: 'be brief","hello' })],
];

for (const [field, changed] of changes) {
  test(`a change of ${field} changes the key`, (t) => {
    t.not(changed(), requestKey(scope, params));
  });
}

test('key order of the params object does not matter', (t) => {
  const reordered: MessageParams = {
    messages: params.messages,
    stop_sequences: ['END'],
    system: 'be brief',
    temperature: 0.2,
    max_tokens: 100,
    model: 'claude-haiku-4-5',
  };
  t.is(requestKey(scope, reordered), requestKey(scope, params));
});
