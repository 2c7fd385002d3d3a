import { AGENT_NAME_PATTERN } from '../config/agents.js';
import type { ModelInfo } from '../config/models.js';
import { ControlCharacterError, EmptyTaskError, ErrorCode, InvalidAgentNameError, ParameterRangeError, TaskTooLongError, ValidationError } from '../errors.js';

export const MAX_TASK_CHARS = 100_000;

// Tested instead of trim(), which would copy a task of up to 100,000 characters per call.
const NOT_WHITE_SPACE = /\S/;

// C0 controls except tab (09), LF (0A) and CR (0D); DEL; C1 controls.
const FORBIDDEN_CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

export function validateAgentName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !AGENT_NAME_PATTERN.test(name)) throw new InvalidAgentNameError(String(name));
}

export function validateTask(task: unknown): asserts task is string {
  if (typeof task !== 'string') throw new ValidationError(ErrorCode.TASK_TYPE, 'task', `task must be a string, got ${typeof task}`);
  if (task.length > MAX_TASK_CHARS) throw new TaskTooLongError(task.length, MAX_TASK_CHARS);
  if (!NOT_WHITE_SPACE.test(task)) throw new EmptyTaskError();
  const found = FORBIDDEN_CONTROL.exec(task);
  if (found) throw new ControlCharacterError(found.index, task.charCodeAt(found.index));
}

export function validateTemperature(value: unknown, model: ModelInfo): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1)
    throw new ParameterRangeError('temperature', 'a number from 0 to 1', value);
  if (!model.acceptsTemperature) {
    throw new ValidationError(
      ErrorCode.PARAM_UNSUPPORTED,
      'temperature',
      `temperature must be left out for ${model.id}: the API rejects it for this model (deprecated since Opus 4.7 and the 5 generation)`,
    );
  }
  return value;
}

export function validateMaxTokens(value: unknown, model: ModelInfo): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > model.maxOutputTokens) {
    throw new ParameterRangeError('maxTokens', `an integer from 1 to ${model.maxOutputTokens} (the limit of ${model.id})`, value);
  }
  return value;
}
