// LPProto client (seed 000, docs/lpproto.md): text WebSocket messages made of a command line,
// `name:value` header lines, an empty line and a body; frames go as binary JPEG messages.
//
//   import { LPClient } from "./lpclient.js";
//   const client = new LPClient("wss://host/lpproto", { heartbeat: 5000, sessionToken, mirrored: true });
//   client.onmessage = (message) => { ... };   // STATS, SUCCESS, ERROR
//   const connected = await client.connect();  // CONNECTED (its session-id header), or throws ERROR
//   client.sendFrame(jpegBlob);                 // one FRAME in flight at a time

/** The text of one LPProto message. */
export function lpEncode(command, headers = {}, body = "") {
  const lines = [command];
  for (const [name, value] of Object.entries(headers)) {
    lines.push(`${name}:${value}`);
  }
  return `${lines.join("\n")}\n\n${body}`;
}

/** One LPProto message: {command, headers (lower-case names), body}. */
export function lpParse(text) {
  const normalised = text.replace(/\r\n/g, "\n");
  const split = normalised.indexOf("\n\n");
  const head = split < 0 ? normalised : normalised.slice(0, split);
  const body = split < 0 ? "" : normalised.slice(split + 2);
  const [command, ...lines] = head.split("\n");
  const headers = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { command: command.trim(), headers, body };
}

/** The error codes of an ERROR message (`errors`, else `error`), as numbers. */
export function errorCodes(message) {
  const list = message.headers.errors || message.headers.error || "";
  return list
    .split(",")
    .map((code) => Number(code.trim()))
    .filter((code) => Number.isInteger(code) && code > 0);
}

export class LPClient {
  /**
   * @param {string} url the server's `/lpproto` address (ws: or wss:)
   * @param {{heartbeat?: number, sessionToken?: string, mirrored?: boolean,
   *          camera?: {label?: string, width?: number, height?: number, fps?: number}}} options
   */
  constructor(url, options = {}) {
    this.url = url;
    this.options = options;
    this.socket = null;
    this.inFlight = false;
    this.sessionId = null;
    this.onmessage = () => {};
    this.onclose = () => {};
  }

  /** Opens the socket and sends CONNECT; resolves with CONNECTED, rejects with the ERROR. */
  connect() {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url);
      socket.binaryType = "arraybuffer";
      this.socket = socket;
      let connected = false;
      socket.onopen = () => {
        const headers = { version: "1.0" };
        if (this.options.heartbeat) headers.heartbeat = this.options.heartbeat;
        // A relying party's session: the single-use token its backend got from POST /v1/sessions.
        if (this.options.sessionToken) headers["session-token"] = this.options.sessionToken;
        headers.mirrored = this.options.mirrored ? "true" : "false";
        // What the camera says of itself: the server refuses virtual cameras by name.
        const camera = this.options.camera || {};
        const label = String(camera.label || "").replace(/[\u0000-\u001f\u007f]/g, " ").trim().slice(0, 200);
        if (label) headers["camera-label"] = label;
        if (camera.width > 0 && camera.height > 0) headers["camera-size"] = `${Math.round(camera.width)}x${Math.round(camera.height)}`;
        if (camera.fps > 0) headers["camera-fps"] = Math.min(1000, Number(camera.fps).toFixed(1));
        socket.send(lpEncode("CONNECT", headers));
      };
      socket.onmessage = (event) => {
        if (typeof event.data !== "string") return;
        const message = lpParse(event.data);
        if (message.command === "HEARTBEAT") {
          socket.send(lpEncode("HEARTBEAT"));
          return;
        }
        if (!connected) {
          if (message.command === "CONNECTED") {
            connected = true;
            this.sessionId = message.headers["session-id"] || null;
            resolve(message);
          } else {
            reject(message);
          }
          return;
        }
        this.inFlight = false;
        this.onmessage(message);
      };
      socket.onerror = () => {
        if (!connected) reject({ command: "ERROR", headers: { reason: "the WebSocket could not be opened" }, body: "" });
      };
      socket.onclose = (event) => {
        if (!connected) reject({ command: "ERROR", headers: { reason: "the connection closed" }, body: "" });
        this.onclose(event);
      };
    });
  }

  /** Sends one JPEG (a Blob, ArrayBuffer or typed array) as a binary FRAME; false while one is in flight. */
  sendFrame(jpeg) {
    if (this.inFlight || !this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.inFlight = true;
    this.socket.send(jpeg);
    return true;
  }

  close() {
    if (this.socket) this.socket.close();
  }
}
