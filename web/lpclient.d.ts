/** One LPProto message (docs/lpproto.md). */
export interface LPMessage {
  command: "CONNECTED" | "STATS" | "SUCCESS" | "ERROR" | "HEARTBEAT" | string;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
}

export interface LPClientOptions {
  /** Ask the server for a HEARTBEAT every this many ms (100 to 60000). */
  heartbeat?: number;
  /** A relying party's single-use client token (POST /v1/sessions). */
  sessionToken?: string;
  /** The frames are a selfie view (mirrored). */
  mirrored?: boolean;
  /** The camera's label and capture settings, sent at CONNECT (virtual cameras are refused). */
  camera?: { label?: string; width?: number; height?: number; fps?: number };
}

export function lpEncode(command: string, headers?: Record<string, string | number>, body?: string): string;
export function lpParse(text: string): LPMessage;
/** The codes of an ERROR message (`errors`, else `error`). */
export function errorCodes(message: LPMessage): number[];

export class LPClient {
  constructor(url: string, options?: LPClientOptions);
  readonly url: string;
  /** The CONNECTED session id, once connected. */
  sessionId: string | null;
  onmessage: (message: LPMessage) => void;
  onclose: (event: CloseEvent) => void;
  /** Resolves with CONNECTED; rejects with the ERROR message. */
  connect(): Promise<LPMessage>;
  /** Sends one JPEG as a binary FRAME; false while the previous one is unanswered. */
  sendFrame(jpeg: Blob | ArrayBuffer | ArrayBufferView): boolean;
  close(): void;
}
