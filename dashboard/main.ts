/**
 * The dashboard's entry point (bundled into public/app.js by build.mjs):
 * `/?room=R[&token=T]` opens room R, anything else asks for a room. The token
 * leaves the address bar at once (token.ts).
 */
import "./locale-guard.js"; // first: before uPlot reads navigator.language
import { isValidRoomName } from "../client/index.js";
import { renderPicker } from "./picker.js";
import { renderRoom } from "./room-view.js";
import { takeToken } from "./token.js";

const root = document.getElementById("app")!;
const params = new URLSearchParams(location.search);
const token = takeToken(params);
const room = params.get("room");

if (room !== null && isValidRoomName(room)) renderRoom(root, room, token);
else renderPicker(root, params);
