/**
 * The MQTT rules of the /mqtt endpoint as pure functions: parsed packets in,
 * decisions and packets out. No sockets, no storage: the adapter does the
 * I/O and asks these functions what to do, so every rule is unit-tested here.
 *
 * Versions: 4 is MQTT 3.1.1, 5 is MQTT 5.0. Where they differ (reason codes,
 * properties, how a refusal is signalled), each function takes the version.
 *
 * One file per packet family (connect-rules, subscribe-rules, publish-rules),
 * on the reason codes of reasons.ts and the payload mapping of payloads.ts;
 * the rest of the MQTT code imports the rules through this index.
 */
export * from "./connect-rules";
export * from "./payloads";
export * from "./publish-rules";
export * from "./reasons";
export * from "./subscribe-rules";
