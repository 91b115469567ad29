/** The registry of WebSocket wire formats: one line per adapter. */
import type { SocketKind } from "../sockets";
import type { SocketAdapter } from "./adapter";
import { jsonAdapter } from "./json";
import { mqttAdapter } from "./mqtt";
import { rawAdapter } from "./raw";

export const ADAPTERS: Readonly<Record<SocketKind, SocketAdapter>> = {
  json: jsonAdapter,
  raw: rawAdapter,
  mqtt: mqttAdapter,
};

export const SOCKET_KINDS = Object.keys(ADAPTERS) as SocketKind[];
