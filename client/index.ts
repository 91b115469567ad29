/**
 * `roomcast/client`: the library a browser, a dashboard or a Node service uses
 * to join a Roomcast room. Nothing here may import a Node built-in.
 */
export { RoomcastClient } from "./client.js";
export type {
  ClientEvents,
  ClientState,
  DisconnectInfo,
  RoomcastClientOptions,
  TokenSource,
} from "./client.js";
export { backoffDelay, DEFAULT_BACKOFF } from "./backoff.js";
export type { BackoffOptions } from "./backoff.js";
export { RoomcastError } from "./errors.js";
export type { ClientErrorCode } from "./errors.js";
export { publishHttp } from "./http.js";
export type { PublishHttpOptions } from "./http.js";
export type { Published } from "./outbox.js";
export type { PublishOptions } from "./client.js";
export type { WebSocketConstructor, WebSocketLike } from "./websocket.js";
export { CloseCode, roomHttpUrl, roomSocketUrl, isValidRoomName } from "../protocol/index.js";
export type {
  AckFrame,
  ErrorFrame,
  MessageEnvelope,
  PresenceFrame,
  PresenceCountFrame,
  PresenceEvent,
  PublishResult,
  WelcomeFrame,
} from "../protocol/index.js";
