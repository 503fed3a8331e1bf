// LPProto client (seed 000): text WebSocket messages made of a command line, `name:value`
// header lines, an empty line and a body. Used by app.js; usable on its own:
//
//   const client = new LPClient("ws://host:5003/lpproto", { heartbeat: 5000, sessionToken });
//   client.onmessage = (message) => { ... };          // STATS, SUCCESS, ERROR, ...
//   await client.connect();                            // resolves with the CONNECTED message
//   client.sendFrame(base64Jpeg);                      // one FRAME in flight at a time
"use strict";

/** Builds the text of one LPProto message. */
function lpEncode(command, headers, body) {
  const lines = [command];
  for (const [name, value] of Object.entries(headers || {})) {
    lines.push(`${name}:${value}`);
  }
  return `${lines.join("\n")}\n\n${body || ""}`;
}

/** Parses one LPProto message: {command, headers (lower-case names), body}. */
function lpParse(text) {
  const normalised = text.replace(/\r\n/g, "\n");
  const split = normalised.indexOf("\n\n");
  const head = split < 0 ? normalised : normalised.slice(0, split);
  const body = split < 0 ? "" : normalised.slice(split + 2);
  const [command, ...lines] = head.split("\n");
  const headers = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
  }
  return { command: command.trim(), headers, body };
}

class LPClient {
  constructor(url, options) {
    this.url = url;
    this.options = options || {};
    this.socket = null;
    this.inFlight = false;
    this.onmessage = () => {};
    this.onclose = () => {};
  }

  /** Opens the socket and sends CONNECT; resolves with CONNECTED, rejects with ERROR. */
  connect() {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url);
      this.socket = socket;
      let connected = false;
      socket.onopen = () => {
        const headers = { version: "1.0" };
        if (this.options.heartbeat) headers.heartbeat = this.options.heartbeat;
        // A relying party's session: the one-time token its backend got from POST /v1/sessions.
        if (this.options.sessionToken) headers["session-token"] = this.options.sessionToken;
        if (this.options.mirrored) headers.mirrored = "true";
        socket.send(lpEncode("CONNECT", headers));
      };
      socket.onmessage = (event) => {
        if (typeof event.data !== "string") return;
        const message = lpParse(event.data);
        if (message.command === "HEARTBEAT") {
          socket.send(lpEncode("HEARTBEAT", {}));
          return;
        }
        if (!connected) {
          if (message.command === "CONNECTED") {
            connected = true;
            resolve(message);
          } else {
            reject(message);
          }
          return;
        }
        if (message.command !== "HEARTBEAT") this.inFlight = false;
        this.onmessage(message);
      };
      socket.onerror = () => {
        if (!connected) reject({ command: "ERROR", headers: { reason: "the WebSocket could not be opened" }, body: "" });
      };
      socket.onclose = (event) => this.onclose(event);
    });
  }

  /** Sends one JPEG frame (base64, without a data: prefix); false while one is in flight. */
  sendFrame(base64Jpeg) {
    if (this.inFlight || !this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.inFlight = true;
    this.socket.send(lpEncode("FRAME", { "content-type": "image/x-jpeg-base64" }, base64Jpeg));
    return true;
  }

  close() {
    if (this.socket) this.socket.close();
  }
}

/** The claims of a JWT (not verified: the relying party verifies the signature). */
function jwtClaims(token) {
  const part = token.split(".")[1] || "";
  const padded = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
  return JSON.parse(atob(padded));
}
