/**
 * JSON from outside (request bodies, baseline files) is bounded before anything walks it: a
 * text nested thousands deep is refused at the door, so that no validator, message builder or
 * serializer downstream (the SSE writer's JSON.stringify among them) ever recurses through it.
 */

/** The deepest nesting of arrays and objects a request body (or a baseline file) may have. */
export const MAX_JSON_DEPTH = 64;

/**
 * The nesting depth of a JSON text, without parsing it: one pass over the characters, brackets
 * counted outside strings. Cheap enough to run on every body before JSON.parse; stops as soon
 * as the depth passes `limit`.
 */
export function jsonDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}
