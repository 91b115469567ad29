/**
 * The one error type the library and the CLI raise, so callers can branch on
 * `code` (the server's snake_case codes, or the client-side ones below)
 * instead of parsing messages.
 */

/** Codes raised by the client itself, next to the server's `ErrorCode`s. */
export type ClientErrorCode =
  | "client_closed"
  | "queue_full"
  | "forbidden"
  | "policy"
  | "token_failed"
  | "no_websocket"
  | "bad_frame"
  | "http_error";

export class RoomcastError extends Error {
  override name = "RoomcastError";
  constructor(
    /** A snake_case code: the server's error code or a `ClientErrorCode`. */
    readonly code: string,
    message: string,
    /** HTTP status or WebSocket close code, when there was one. */
    readonly status?: number,
  ) {
    super(message);
  }
}
