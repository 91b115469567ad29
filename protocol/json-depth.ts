/**
 * How deeply a JSON text nests, found by scanning its characters once rather
 * than by parsing it: the check has to run before `JSON.parse`, on text a
 * client sent, so it may not recurse (a deep text would blow the stack) nor
 * build anything. Brackets inside strings (escapes included) do not count.
 * The text is not validated here; `JSON.parse` still does that.
 */

/** Whether `text` opens more than `max` arrays/objects inside one another. */
export function jsonDepthExceeds(text: string, max = 64): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++; // skip the escaped character, `\"` included
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return false;
}
