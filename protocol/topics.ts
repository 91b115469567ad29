/**
 * Topics and topic filters: the one owner of their rules, shared by the
 * Worker (query parsing), the Room (fan-out, retained values), the MQTT
 * adapter, the client and the dashboard.
 *
 * A topic is 1..256 UTF-8 bytes, levels separated by `/`, with no `+`, `#` or
 * NUL. A filter follows MQTT: `+` is one whole level, `#` only the whole last
 * level (and matches the parent level too: `a/#` matches `a`). A topic that
 * starts with `$` is not matched by a filter whose first level is a wildcard.
 */

export const MAX_TOPIC_BYTES = 256;
/** At most this many filters in one `topics=` list (and one MQTT SUBSCRIBE's worth of fan-out work per message stays small). */
export const MAX_TOPIC_FILTERS = 32;

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const encoder = new TextEncoder();
// A lone surrogate has no UTF-8 form, so it cannot be a topic byte sequence.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `s` is 1..MAX_TOPIC_BYTES UTF-8 bytes with no NUL and no lone surrogate. */
function validTopicString(s: unknown): s is string {
  if (typeof s !== "string" || s.length === 0 || s.length > MAX_TOPIC_BYTES) return false;
  if (s.includes("\u0000") || LONE_SURROGATE.test(s)) return false;
  return s.length * 3 <= MAX_TOPIC_BYTES || encoder.encode(s).length <= MAX_TOPIC_BYTES;
}

export function validTopic(topic: unknown): topic is string {
  return validTopicString(topic) && !topic.includes("+") && !topic.includes("#");
}

export function validFilter(filter: unknown): filter is string {
  if (!validTopicString(filter)) return false;
  const levels = filter.split("/");
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes("+") && level !== "+") return false;
    if (level.includes("#") && (level !== "#" || i !== levels.length - 1)) return false;
  }
  return true;
}

/** The room's own topics (lifecycle events, a sink's overflow): `$events` and below. No client publishes there. */
export const ROOM_EVENTS_TOPIC = "$events";

export function isRoomEventTopic(topic: string | null): boolean {
  return topic !== null && (topic === ROOM_EVENTS_TOPIC || topic.startsWith(`${ROOM_EVENTS_TOPIC}/`));
}

/**
 * Whether a reader without a filter gets a message on `topic`: every one but
 * the room's own `$events/...` (CONTRACT v3: only a filter that names
 * `$events` gets them, as the `$` rule keeps them from `#`).
 */
export function reachesUnfiltered(topic: string | null): boolean {
  return !isRoomEventTopic(topic);
}

/** Whether a valid `topic` matches a valid `filter`. */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter === topic) return true;
  if (topic.startsWith("$") && (filter.startsWith("+") || filter.startsWith("#"))) return false;
  return levelsMatch(filter.split("/"), topic.split("/"));
}

/**
 * Whether every topic `filter` can match is matched by `outer` (both valid
 * filters): the containment the `acl` claim's `sub` filters need (a reader
 * may ask only for what its token lets it read). Checked level by level:
 * `#` in `outer` takes whatever is left (and the parent level, as it
 * matches it); `+` in `outer` takes one level of anything but `#`; a literal
 * level takes only itself. The `$` rule holds: a filter whose first level
 * is a literal `$…` reaches `$` topics, which an `outer` starting with a
 * wildcard never matches.
 */
export function filterWithin(filter: string, outer: string): boolean {
  if (filter === outer) return true;
  // `#` alone is `+/#`: its "parent level" would be the empty topic, which
  // does not exist, so it matches exactly the topics of one level or more.
  const f = filter === "#" ? ["+", "#"] : filter.split("/");
  const o = outer.split("/");
  if ((o[0] === "+" || o[0] === "#") && f[0]!.startsWith("$")) return false;
  for (let i = 0; i < o.length; i++) {
    const level = o[i]!;
    if (level === "#") return true; // f's topics here have at least i levels, the parent `#` also matches
    if (i >= f.length) return false; // f ends, outer asks for more levels
    const mine = f[i]!;
    if (mine === "#") return false; // f reaches deeper (and the parent) than a non-`#` level allows
    if (level === "+") continue;
    if (mine !== level) return false; // `+` against a literal, or two different literals
  }
  return f.length === o.length;
}

/**
 * Whether `filter` fits inside one of `outers`. Conservative on purpose: a
 * filter that only the union of several outers covers (`a/#` against `a`
 * and `a/+/#`) is refused; a token can always list the wider filter itself.
 */
export function filterAllowed(filter: string, outers: readonly string[]): boolean {
  for (const o of outers) if (filterWithin(filter, o)) return true;
  return false;
}

/**
 * The `topics=` query value: comma-separated filters, each valid, at most
 * MAX_TOPIC_FILTERS, duplicates dropped (order kept).
 */
export function parseTopicList(value: string): Parsed<string[]> {
  const parts = value.split(",");
  const seen = new Set<string>();
  for (const part of parts) {
    if (part === "") return { ok: false, message: "topics: empty filter (stray comma?)" };
    const shown = JSON.stringify(part.slice(0, 64));
    if (!validFilter(part)) return { ok: false, message: `topics: ${shown} is not a valid topic filter` };
    seen.add(part);
  }
  if (seen.size > MAX_TOPIC_FILTERS) return { ok: false, message: `topics: at most ${MAX_TOPIC_FILTERS} filters` };
  return { ok: true, value: [...seen] };
}

/**
 * Many filters compiled once, for fan-out: exact filters are one Set lookup;
 * only wildcard filters are walked level by level.
 */
export class TopicMatcher {
  private readonly exact = new Set<string>();
  private readonly wildcard: string[][] = [];

  constructor(filters: Iterable<string>) {
    for (const f of filters) {
      if (f.includes("+") || f.includes("#")) this.wildcard.push(f.split("/"));
      else this.exact.add(f);
    }
  }

  get empty(): boolean {
    return this.exact.size === 0 && this.wildcard.length === 0;
  }

  matches(topic: string): boolean {
    if (this.exact.has(topic)) return true;
    if (this.wildcard.length === 0) return false;
    const t = topic.split("/");
    const dollar = topic.startsWith("$");
    for (const f of this.wildcard) {
      if (dollar && (f[0] === "+" || f[0] === "#")) continue;
      if (levelsMatch(f, t)) return true;
    }
    return false;
  }
}

/** Filter levels against topic levels; `#` (always last) also matches the parent level. */
function levelsMatch(f: readonly string[], t: readonly string[]): boolean {
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    if (level === "#") return true;
    if (i >= t.length) return false;
    if (level !== "+" && level !== t[i]) return false;
  }
  return f.length === t.length;
}
