/** What the integrator gets when a check ends with a verdict (`liveness-result`). */
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

/** What stopped a check before it could give a verdict. */
export type LivenessErrorType =
  | "camera-denied"
  | "no-camera"
  | "server-unreachable"
  | "origin-refused"
  | "session-token-invalid"
  | "protocol";

/** The detail of `liveness-error`. */
export interface LivenessError {
  type: LivenessErrorType;
  /** The server's code (docs/lpproto.md) where it gave one: 1030 for a refused origin, 1033 for
   * a used or expired client token, 1015 for a cooldown ...; null otherwise. */
  code: number | null;
  /** The sentence the person was shown, in the element's language. */
  message: string;
  sessionId: string | null;
}

/** The detail of `liveness-cancel`: the person cancelled (Cancel, or Escape). */
export interface LivenessCancel {
  sessionId: string | null;
}

/** The element's events; each bubbles and crosses shadow roots. */
export interface LivenessCheckEventMap {
  "liveness-result": CustomEvent<LivenessResult>;
  "liveness-error": CustomEvent<LivenessError>;
  "liveness-cancel": CustomEvent<LivenessCancel>;
  /** The name of `liveness-result` before it; fired with it. */
  result: CustomEvent<LivenessResult>;
}

/** A language's strings: the keys of the English dictionary (strings.js) to this language's
 * text, "language.name" among them. Keys left out fall back to English. */
export type LivenessStrings = Record<string, string>;

export interface MountOptions {
  /** The server's /lpproto WebSocket address; default: this page's server. */
  server?: string;
  /** A relying party's single-use client token. */
  sessionToken?: string;
  /** Called for a new client token when the person retries. */
  getSessionToken?: () => Promise<string>;
  onResult?: (result: LivenessResult) => void;
  onError?: (error: LivenessError) => void;
  onCancel?: (cancel: LivenessCancel) => void;
  /** A language tag the element speaks ("en", "fr", or one added with `languages`); default
   * from navigator.languages. */
  lang?: string;
  /** Languages to add, by tag. */
  languages?: Record<string, LivenessStrings>;
  /** Strings to replace, by key, in every language. */
  displayText?: LivenessStrings;
  /** Show the signed token on the result screen (never in production). */
  debug?: boolean;
  /** Skip the start button. */
  autostart?: boolean;
}

/** `<liveness-check server session-token lang debug>`. */
export class LivenessCheck extends HTMLElement {
  getSessionToken: (() => Promise<string>) | null;
  /** Strings to replace, by key, in every language. */
  displayText: LivenessStrings;
  /** The cues given so far: a beep and its text, `seen` (440 Hz) or `done` (880 Hz). */
  readonly cues: { kind: "seen" | "done"; frequency: number }[];
  start(): Promise<void>;
  cancel(): void;
  addEventListener<K extends keyof LivenessCheckEventMap>(
    type: K,
    listener: (this: LivenessCheck, event: LivenessCheckEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener<K extends keyof HTMLElementEventMap>(
    type: K,
    listener: (this: LivenessCheck, event: HTMLElementEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof LivenessCheckEventMap>(
    type: K,
    listener: (this: LivenessCheck, event: LivenessCheckEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
}

/** The kinds of `liveness-error`. */
export const ERROR_TYPES: readonly LivenessErrorType[];

/** Adds a language, or replaces strings of one, without editing the package. */
export function registerLanguage(code: string, words: LivenessStrings): void;

export function mount(container: Element, options?: MountOptions): LivenessCheck;

/** The element's attributes, for JSX. */
export interface LivenessCheckAttributes {
  server?: string;
  "session-token"?: string;
  lang?: string;
  debug?: boolean | "";
  id?: string;
  class?: string;
  className?: string;
  style?: string | Record<string, string | number>;
}

declare global {
  interface HTMLElementTagNameMap {
    "liveness-check": LivenessCheck;
  }
  interface HTMLElementEventMap extends LivenessCheckEventMap {}
  namespace JSX {
    interface IntrinsicElements {
      "liveness-check": LivenessCheckAttributes;
    }
  }
}
