/**
 * What a SUBSCRIBE is granted and what an UNSUBACK says. We serve QoS 0, 1
 * and 2, no shared subscriptions, and a bounded number of filters per client.
 */
import type { ISubackPacket, ISubscribePacket, IUnsubackPacket, IUnsubscribePacket } from "mqtt-packet";
import { filterAllowed, MAX_TOPIC_FILTERS, validFilter } from "../../protocol/topics";
import type { MqttVersion } from "./codec";
import { Reason } from "./reasons";
import { shareOf } from "./share-name";

export interface GrantedSubscription {
  filter: string;
  qos: 0 | 1 | 2;
  /** 5.0 No Local: do not send this client its own messages. */
  noLocal: boolean;
  /** 5.0 Retain As Published: keep the retain flag on live deliveries. */
  retainAsPublished: boolean;
  /** 5.0 Retain Handling: 0 send retained on subscribe, 1 only if the subscription is new, 2 never. */
  retainHandling: 0 | 1 | 2;
  /** 5.0 Subscription Identifier of the SUBSCRIBE that made it: every PUBLISH it matches carries it. */
  id?: number;
}

/**
 * What a client's subscriptions may still take of the state its socket
 * keeps through hibernation (the attachment: 16 KiB in all). Given by the
 * caller, which knows that state; a filter that replaces one costs nothing.
 */
export interface SubscriptionBudget {
  bytesLeft: number;
  cost(g: GrantedSubscription): number;
}

export interface SubscribeDecision {
  /** Subscriptions to add (or replace, same filter), in packet order. */
  granted: GrantedSubscription[];
  suback: ISubackPacket;
}

/**
 * Grants each subscription the QoS it asks (0, 1 or 2), or refuses it: not allowed
 * (`canSubscribe` false: 0x80 / 0x87), an invalid filter (0x80 / 0x8F), a
 * shared subscription (0x80 / 0x9E), a new filter past MAX_TOPIC_FILTERS per
 * client (0x80 / 0x97), or a new filter that would not fit `budget` (0x80 /
 * 0x97: taken in packet order, so what fits is granted and the rest refused).
 * `existing` is the client's current filters. With `aclSub` (the token's
 * `acl.sub`), a filter that could match a topic outside it is refused as not
 * allowed (0x80 / 0x87), so what is granted is all the client may read.
 */
export function decideSubscribe(
  version: MqttVersion,
  packet: ISubscribePacket,
  canSubscribe: boolean,
  existing: ReadonlySet<string> = new Set(),
  budget: SubscriptionBudget = { bytesLeft: Infinity, cost: () => 0 },
  aclSub?: readonly string[],
): SubscribeDecision {
  const granted: GrantedSubscription[] = [];
  const codes: number[] = [];
  const subscriptionId = version === 5 ? packet.properties?.subscriptionIdentifier : undefined;
  const filters = new Set(existing);
  let bytesLeft = budget.bytesLeft;
  for (const s of packet.subscriptions) {
    const qos = Math.min(s.qos, 2) as 0 | 1 | 2;
    const g: GrantedSubscription = {
      filter: s.topic,
      qos,
      noLocal: version === 5 && !!s.nl,
      retainAsPublished: version === 5 && !!s.rap,
      retainHandling: version === 5 ? ((s.rh ?? 0) as 0 | 1 | 2) : 0,
    };
    if (typeof subscriptionId === "number" && subscriptionId > 0) g.id = subscriptionId;
    // `$share/<group>/<filter>` matches on its filter (shared.ts); its name is what SUBSCRIBE and UNSUBSCRIBE say.
    const share = shareOf(s.topic);
    const inner = share !== null && share.ok ? share.filter : s.topic;
    const isNew = !filters.has(s.topic);
    const cost = isNew ? budget.cost(g) : 0;
    const refused = !canSubscribe
      ? Reason.NotAuthorized
      : share !== null && !share.ok
        ? Reason.TopicFilterInvalid
        : !validFilter(inner)
          ? Reason.TopicFilterInvalid
          : aclSub !== undefined && !filterAllowed(inner, aclSub)
            ? Reason.NotAuthorized
            : isNew && (filters.size >= MAX_TOPIC_FILTERS || cost > bytesLeft)
              ? Reason.QuotaExceeded
              : null;
    if (refused !== null) {
      codes.push(version === 5 ? refused : 0x80);
      continue;
    }
    bytesLeft -= cost;
    filters.add(s.topic);
    granted.push(g);
    codes.push(qos);
  }
  return { granted, suback: { cmd: "suback", messageId: packet.messageId, granted: codes } };
}

/** UNSUBACK: 3.1.1 has no per-filter codes; 5.0 says whether each existed. */
export function decideUnsubscribe(version: MqttVersion, packet: IUnsubscribePacket, existing: ReadonlySet<string>): IUnsubackPacket {
  const unsuback: IUnsubackPacket = { cmd: "unsuback", messageId: packet.messageId, granted: [] };
  if (version === 5) {
    unsuback.granted = packet.unsubscriptions.map((f) => (existing.has(f) ? Reason.Success : Reason.NoSubscriptionExisted));
  }
  return unsuback;
}
