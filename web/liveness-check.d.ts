/** What the integrator gets when a check ends (not when it is cancelled). */
export interface LivenessResult {
  /** The LPProto session id: a relying party's backend fetches the signed verdict with it
   * (GET /v1/sessions/{id}/result). */
  sessionId: string | null;
  isOk: boolean;
  /** The error codes of a failed check (docs/lpproto.md). */
  errors: number[];
  /** The age check's decision when the liveness check passed and the age did not:
   * "uncertain" (send the person to a document check) or "below" (likely under the minimum
   * age); null otherwise. */
  ageDecision: "below" | "uncertain" | null;
}

export interface MountOptions {
  /** The server's /lpproto WebSocket address; default: this page's server. */
  server?: string;
  /** A relying party's single-use client token. */
  sessionToken?: string;
  /** Called for a new client token when the person retries. */
  getSessionToken?: () => Promise<string>;
  onResult?: (result: LivenessResult) => void;
  /** "en" or "fr"; default from navigator.languages. */
  lang?: string;
  /** Show the signed token on the result screen (never in production). */
  debug?: boolean;
  /** Skip the start button. */
  autostart?: boolean;
}

/** `<liveness-check server session-token lang debug>`; fires `result` (CustomEvent<LivenessResult>). */
export class LivenessCheck extends HTMLElement {
  getSessionToken: (() => Promise<string>) | null;
  /** The cues given so far: a beep and its text, `seen` (440 Hz) or `done` (880 Hz). */
  readonly cues: { kind: "seen" | "done"; frequency: number }[];
  start(): Promise<void>;
  cancel(): void;
}

export function mount(container: Element, options?: MountOptions): LivenessCheck;

declare global {
  interface HTMLElementTagNameMap {
    "liveness-check": LivenessCheck;
  }
  interface HTMLElementEventMap {
    result: CustomEvent<LivenessResult>;
  }
}
