import { type AgentperfError, ErrorCode, ValidationError } from '../errors.js';

/** Orchestrator errors as HTTP statuses: the caller's fault is 4xx, the upstream's 5xx. */
export function statusFor(error: AgentperfError): number {
  if (error.code === ErrorCode.UNKNOWN_AGENT || error.code === ErrorCode.NOT_FOUND) return 404;
  if (error.code === ErrorCode.CONFLICT) return 409;
  if (error instanceof ValidationError) return 400;
  switch (error.code) {
    case ErrorCode.QUEUE_FULL:
    case ErrorCode.CIRCUIT_OPEN:
    case ErrorCode.CLOSED:
    case ErrorCode.CAPACITY:
      return 503;
    case ErrorCode.TIMEOUT:
      return 504;
    case ErrorCode.UPSTREAM:
    case ErrorCode.CONNECTION:
      return 502;
    default:
      return 500;
  }
}

export const errorBody = (code: string, message: string, field?: string) => ({ error: { code, message, ...(field ? { field } : {}) } });
